/**
 * The CLI's entry point. It sets up the V8 heap for the commands that download and seed, then loads the program
 * (./run.ts): the settings have to come before the modules load, and static imports would all load first.
 *
 * The young generation is kept at its initial size (two 1 MiB semi-spaces) instead of growing to two of 16 MiB, as
 * V8 lets it by default once loading the modules has promoted enough objects. During a download almost nothing it
 * holds survives (parsed messages, per-chunk bookkeeping), so a small one costs only more frequent, equally short
 * scavenges; a large one costs ~30 MB of RSS (docs/BENCHMARKS.md). `--max-semi-space-size` would say the same, but
 * only on Node's command line, since V8 sizes the heap before any script runs; the growth factor is read each time
 * the young generation would grow.
 *
 * The old generation may grow by 60 % over what survived the last full collection before the next one, instead of
 * the up to 300 % V8 allows a heap that collects fast. Objects that live a second or two (outstanding requests,
 * pieces in flight) leave the small young generation for the old one and die there: with the default factor the
 * first full collection of a download came only at ~75 MB of heap (from ~27 MB live), which a 4 GiB download reaches
 * and a 1 GiB one does not, so the peak grew with the download's size. Measured on a 4 GiB download: peak RSS
 * 174 -> 148 MB, 10 full collections instead of 7, no more GC time.
 *
 * `stream` too: it moves pieces like a download, and its readers' chunks die young as well (measured with two
 * readers, docs/BENCHMARKS.md).
 *
 * Only for the commands that move pieces: a small young generation makes loading the modules slower (~90 ms more
 * for `bt info`, which promotes nearly everything it allocates), a price a short command pays for nothing. The
 * command is the first argument that is not an option; when that guess is wrong, only the tuning is lost.
 *
 * Both are process-wide V8 settings: the CLI's to make, never the library's.
 *
 * The same guess tells the daemon to take SIGHUP from its first moment.
 *
 * In the bundle (scripts/build-cli.mjs), `BT_HELP_SNAPSHOT` is the commands' help, taken at build time: help and
 * the version are printed from it without loading the program (./quickHelp.ts).
 */
import { setFlagsFromString } from "node:v8"

declare const BT_HELP_SNAPSHOT: string | undefined

const TUNED_COMMANDS = new Set(["download", "seed", "stream"])

const command = process.argv.slice(2).find((arg) => !arg.startsWith("-")) ?? ""
if (TUNED_COMMANDS.has(command)) {
  setFlagsFromString("--semi-space-growth-factor=1")
  setFlagsFromString("--heap-growing-percent=60")
}
// The daemon never ends on SIGHUP (`systemctl reload`), not even while its modules load (./run.ts says more).
if (command === "daemon") process.on("SIGHUP", () => {})
const snapshot = typeof BT_HELP_SNAPSHOT === "string" ? BT_HELP_SNAPSHOT : undefined
const quick = snapshot === undefined
  ? undefined
  : await import("./quickHelp.js").then(async ({ quickHelp }) =>
    quickHelp(JSON.parse(snapshot), process.argv.slice(2), (await import("./help.js")).terminalStyle())
  )
if (quick === undefined) await import("./run.js")
else process.stdout.write(`${quick}\n`)
