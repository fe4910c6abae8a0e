import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { Verifier, type VerifyOptions } from "./Verifier.js"

/**
 * The worker's whole program, run with `eval` so it works the same from compiled JavaScript and from TypeScript
 * under test. It answers each `{ id, data, expected }` with `{ id, ok }`.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads")
const { createHash } = require("node:crypto")
parentPort.on("message", ({ id, data, expected }) => {
  const digest = createHash("sha1").update(data).digest()
  parentPort.postMessage({ id, ok: digest.equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)) })
})
`

interface Slot {
  readonly worker: Worker
  readonly pending: Map<number, (ok: boolean) => void>
}

/**
 * SHA-1 on a pool of worker threads (one per core by default), so hashing runs beside the main thread's network
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

      const verify = (data: Uint8Array, expected: Uint8Array, options?: VerifyOptions) =>
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
