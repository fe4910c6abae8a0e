import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import type { Expected } from "./check.js"
import { Verifier, type VerifyOptions } from "./Verifier.js"

/**
 * The worker's whole program, run with `eval` so it works the same from compiled JavaScript and from TypeScript
 * under test. It checks what `check.ts` checks (the same SHA-1 and BEP 52 merkle rules, restated in plain JavaScript
 * because a worker started from a string cannot import our modules; the tests hold the two to the same answers). It answers each `{ id, data, expected }` with `{ id, ok }`.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads")
const { createHash, hash } = require("node:crypto")
const view = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
// One native call per hash where Node has crypto.hash (20.12+): a Hash object costs more than a 16 KiB leaf.
const oneShot = typeof hash === "function" ? (algorithm, data) => hash(algorithm, data, "buffer")
  : (algorithm, data) => createHash(algorithm).update(data).digest()
const pair = new Uint8Array(64)
const sha256 = (a, b) => { if (!b) return oneShot("sha256", a); pair.set(a, 0); pair.set(b, 32); return oneShot("sha256", pair) }
const pads = [Buffer.alloc(32)]
for (let h = 1; h < 64; h++) pads.push(sha256(pads[h - 1], pads[h - 1]))
// BEP 52: leaves are 16 KiB blocks, the tree width leaves wide, missing nodes the pad hash of their height.
const rootOfLeaves = (leaves, width) => {
  let layer = leaves
  let height = 0
  for (let w = width; w > 1; w /= 2, height++) {
    const next = []
    for (let i = 0; i < layer.length; i += 2) next.push(sha256(layer[i], i + 1 < layer.length ? layer[i + 1] : pads[height]))
    layer = next
  }
  return layer.length === 0 ? pads[height] : layer[0]
}
const passes = (data, expected) => {
  const check = expected instanceof Uint8Array ? { sha1: expected } : expected
  if (!check.sha1 && !check.sha256) return false
  if (!check.sha256) return oneShot("sha1", data).equals(view(check.sha1))
  const { dataLength, root, width } = check.sha256
  // Both hashes in one pass, block by block (as check.ts does): each block is read from memory once.
  const sha1 = check.sha1 ? createHash("sha1") : undefined
  const leaves = []
  for (let at = 0; at < (sha1 ? data.length : dataLength); at += 16384) {
    if (sha1) sha1.update(data.subarray(at, Math.min(data.length, at + 16384)))
    if (at < dataLength) leaves.push(sha256(data.subarray(at, Math.min(dataLength, at + 16384))))
  }
  if (sha1 && !sha1.digest().equals(view(check.sha1))) return false
  return rootOfLeaves(leaves, width).equals(view(root))
}
parentPort.on("message", ({ id, data, expected }) => {
  parentPort.postMessage({ id, ok: passes(data, expected) })
})
`

interface Slot {
  readonly worker: Worker
  readonly pending: Map<number, (ok: boolean) => void>
}

/**
 * SHA-1 and SHA-256 on a pool of worker threads (one per core by default), so hashing runs beside the main thread's network
 * and disk work, and a recheck uses every core. Each piece is copied to its worker (a memcpy is ~20× cheaper than
 * hashing the same bytes), unless the caller hands it over; otherwise the caller's buffer is never touched.
 * Workers stop when the layer's scope closes.
 */
export const layerThreads = (threads: number = availableParallelism()): Layer.Layer<Verifier> =>
  Layer.scoped(
    Verifier,
    Effect.gen(function*() {
      const slots = yield* Effect.acquireRelease(
        Effect.sync(() =>
          Array.from({ length: Math.max(1, threads) }, (): Slot => {
            const worker = new Worker(WORKER_SOURCE, { eval: true })
            const pending = new Map<number, (ok: boolean) => void>()
            worker.on("message", ({ id, ok }: { readonly id: number; readonly ok: boolean }) => {
              pending.get(id)?.(ok)
              pending.delete(id)
            })
            worker.unref()
            return { worker, pending }
          })
        ),
        (slots) => Effect.promise(() => Promise.all(slots.map((slot) => slot.worker.terminate()))).pipe(Effect.asVoid)
      )
      let nextId = 0

      const verify = (data: Uint8Array, expected: Expected, options?: VerifyOptions) =>
        Effect.async<boolean>((resume) => {
          // The least busy worker: pieces complete at different rates, and a queue behind a slow one would idle
          // the others.
          const slot = slots.reduce((best, s) => (s.pending.size < best.pending.size ? s : best))
          const id = nextId++
          slot.pending.set(id, (ok) => resume(Effect.succeed(ok)))
          // A buffer handed over whole moves to the worker; anything else (a view into a larger buffer, which may
          // be a pool shared with others) is copied.
          const movable = options?.handOver === true && data.byteOffset === 0 &&
            data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer
          slot.worker.postMessage({ id, data, expected }, movable ? [data.buffer as ArrayBuffer] : [])
          return Effect.sync(() => slot.pending.delete(id))
        })

      return Verifier.of({ verify })
    })
  )
