// A Client in a process of its own, for the kill -9 test: `node test/interop/clientProcess.mjs JOB.json`.
// JOB: { stateDir, downloadDir, port, add: [{ path, peers } | { magnet }] }. It adds each (a duplicate after a restart
// answers with the torrent already there), prints one JSON line of what it added, then a JSON line of snapshots
// every 200 ms, until killed.
import { readFileSync } from "node:fs"
import { Effect, Option, Schedule } from "effect"
import * as Client from "../../dist/client/index.js"
import { nodeClientLayer } from "../../dist/cli/clientLayer.js"

const job = JSON.parse(readFileSync(process.argv[2], "utf8"))

const program = Effect.gen(function*() {
  const client = yield* Client.Client
  const added = []
  for (const item of job.add) {
    const source = item.magnet === undefined ? Client.AddSource.path(item.path) : Client.AddSource.magnet(item.magnet)
    added.push(yield* client.add(source, { peers: item.peers ?? [] }))
  }
  console.log(JSON.stringify({ added, freeSpace: yield* client.freeSpace(job.stateDir) }))
  yield* Effect.gen(function*() {
    const { torrents } = yield* client.list()
    const stats = yield* client.stats
    console.log(JSON.stringify({
      downloadedThisRun: stats.current.downloadedBytes,
      torrents: torrents.map((t) => ({
        id: t.id, hash: t.hashString, status: t.status, haveValid: t.haveValid, totalSize: t.totalSize, error: t.errorString
      }))
    }))
  }).pipe(Effect.repeat(Schedule.spaced("200 millis")))
})

Effect.runPromise(program.pipe(
  Effect.scoped,
  Effect.provide(nodeClientLayer({
    stateDir: Option.some(job.stateDir),
    downloadDir: job.downloadDir,
    port: job.port,
    listenHosts: ["127.0.0.1"],
    encryption: "disable",
    dht: Option.none(),
    transport: "tcp"
  }))
)).catch((error) => {
  console.error(String(error))
  process.exit(1)
})
