import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createHash } from "node:crypto"

/** Checks piece data against the torrent's hashes. SHA-1 for BitTorrent v1; v2's SHA-256 trees come later. */
export class Verifier extends Context.Tag("bt/Verifier")<Verifier, {
  /**
   * Whether `data` hashes to `expected` (20 bytes of SHA-1). With `handOver`, the caller gives `data` up: a
   * verifier on other threads may move it there instead of copying it, and the caller must not touch it after.
   */
  readonly verify: (data: Uint8Array, expected: Uint8Array, options?: VerifyOptions) => Effect.Effect<boolean>
}>() {}

export interface VerifyOptions {
  readonly handOver?: boolean
}

const sha1Matches = (data: Uint8Array, expected: Uint8Array): boolean =>
  createHash("sha1").update(data).digest().equals(expected)

/** SHA-1 with node:crypto on the calling thread (~1.5 GB/s here: cheaper than a hop to a worker for one piece). */
export const layer: Layer.Layer<Verifier> = Layer.succeed(
  Verifier,
  Verifier.of({ verify: (data, expected) => Effect.sync(() => sha1Matches(data, expected)) })
)
