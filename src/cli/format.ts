/** Text formatting shared by the commands' human-readable output. */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const

/** `1234567` → `"1.18 MiB"`; below 1 KiB, whole bytes (a rate of 714.29 bytes a second is `714 B`). */
export const formatBytes = (bytes: number): string => {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  if (unit === 0) return `${Math.round(bytes)} B`
  const digits = value >= 100 || Number.isInteger(value) ? 0 : 2
  return `${value.toFixed(digits)} ${UNITS[unit]}`
}

/** `1234567` → `"1,234,567"`. */
export const formatCount = (count: number): string => count.toLocaleString("en-US")

/** Two columns: labels padded to a common width. */
export const table = (rows: ReadonlyArray<readonly [string, string]>, indent = ""): string => {
  const width = Math.max(0, ...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`.trimEnd()).join("\n")
}
