import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type Expected, passes } from "./check.js"

/**
 * Checks piece data against the torrent's hashes: SHA-1 (v1), the SHA-256 merkle subtree of the piece (v2), or both
 * (hybrid), as `pieceCheck` gives them.
 */
export class Verifier extends Context.Tag("bt/Verifier")<Verifier, {
  /**
   * Whether `data` hashes to `expected` (20 bytes of SHA-1, or a `PieceCheck`). With `handOver`, the caller gives
   * `data` up: a
   * verifier on other threads may move it there instead of copying it, and the caller must not touch it after.
   */
  readonly verify: (data: Uint8Array, expected: Expected, options?: VerifyOptions) => Effect.Effect<boolean>
}>() {}

export interface VerifyOptions {
  readonly handOver?: boolean
}

/** Hashes with node:crypto on the calling thread (SHA-1 ~1.5 GB/s here: cheaper than a hop to a worker for one piece). */
export const layer: Layer.Layer<Verifier> = Layer.succeed(
  Verifier,
  Verifier.of({ verify: (data, expected) => Effect.sync(() => passes(data, expected)) })
)
