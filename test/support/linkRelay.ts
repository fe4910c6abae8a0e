/**
 * The link emulator as a process of its own, for the benchmarks (`npx vite-node test/support/linkRelay.ts -- ...`):
 * `--listen HOST --target HOST:PORT --source HOST --delay MS [--jitter MS] [--rate BYTES/S] [--loss 0..1]`. Prints
 * `{"port":N}` once listening, then runs until SIGTERM, SIGINT or its parent exits.
 */
import { startLinkEmulator } from "./linkEmulator.js"

const args = process.argv.slice(2).filter((arg) => arg !== "--")
const option = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`)
  return at === -1 ? undefined : args[at + 1]
}
const required = (name: string): string => {
  const value = option(name)
  if (value === undefined) throw new Error(`linkRelay: --${name} is required`)
  return value
}
const target = required("target")
const colon = target.lastIndexOf(":")
const number = (name: string): number | undefined => (option(name) === undefined ? undefined : Number(option(name)))
const jitterMs = number("jitter")
const rate = number("rate")
const loss = number("loss")

const link = await startLinkEmulator({
  listen: { host: required("listen") },
  target: { host: target.slice(0, colon), port: Number(target.slice(colon + 1)) },
  sourceHost: required("source"),
  shape: {
    delayMs: Number(required("delay")),
    ...(jitterMs === undefined ? {} : { jitterMs }),
    ...(rate === undefined ? {} : { rate }),
    ...(loss === undefined ? {} : { loss })
  }
})
console.log(JSON.stringify({ port: link.port }))
const stop = () => void link.close().then(() => process.exit(0))
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) stop()
}, 1000).unref()
