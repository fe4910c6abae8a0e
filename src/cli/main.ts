/**
 * The CLI's entry point. It sets up the V8 heap for bt, then loads the program (./run.ts): the setting has to come
 * before the modules load, and static imports would all load first.
 *
 * The young generation is kept at its initial size (two 1 MiB semi-spaces) instead of growing to two of 16 MiB, as
 * V8 lets it by default once loading the modules has promoted enough objects. During a download almost nothing it
 * holds survives (parsed messages, per-chunk bookkeeping), so a small one costs only more frequent, equally short
 * scavenges; a large one costs ~30 MB of RSS (docs/BENCHMARKS.md). `--max-semi-space-size` would say the same, but
 * only on Node's command line, since V8 sizes the heap before any script runs; the growth factor is read each time
 * the young generation would grow. A process-wide V8 setting: the CLI's to make, never the library's.
 */
import { setFlagsFromString } from "node:v8"

setFlagsFromString("--semi-space-growth-factor=1")
await import("./run.js")
