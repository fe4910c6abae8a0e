/** Rates as people write them (`500K`, `4M`): pure, and light to load (the configuration checks them too). */
const RATE_UNITS: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** A rate such as `500K`, `4M`, `1.5m` or `65536`, in bytes per second; undefined if it is not one. */
export const parseRate = (text: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:\/s)?$/i.exec(text.trim())
  if (match === null) return undefined
  const rate = Math.floor(Number(match[1]) * RATE_UNITS[match[2]!.toLowerCase()]!)
  return rate > 0 ? rate : undefined
}
