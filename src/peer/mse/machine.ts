import type { MseStep } from "./protocol.js"
import type { Rc4 } from "./rc4.js"

/**
 * What both handshake machines share: how a call ends (bytes to send, done, or an error that sticks), and skipping
 * a pad (PadC, PadD) through the incoming keystream. A subclass reads its own stages in `read`.
 */
export abstract class HandshakeMachine<Stage extends string, Done> {
  private outcome: "running" | "done" | "failed" = "running"
  private error: string | undefined
  /** Pad bytes still to skip. */
  protected padRemaining = 0

  /** The stage reading now (what it waits for), or how it ended. */
  get stage(): Stage | "done" | "failed" {
    return this.outcome === "running" ? this.current() : this.outcome
  }

  /** Reads the peer's bytes, in chunks of any size. Never throws; after `done` or `error`, refuses more. */
  receive(chunk: Uint8Array): MseStep<Done> {
    if (this.outcome === "failed") return { error: this.error! }
    if (this.outcome === "done") return this.fail("the handshake is already over")
    return this.read(chunk)
  }

  protected abstract current(): Stage
  protected abstract read(chunk: Uint8Array): MseStep<Done>

  /** All of the chunk is read and more is needed. */
  protected pending(send: Uint8Array | undefined): MseStep<Done> {
    return send === undefined ? {} : { send }
  }

  protected finish(send: Uint8Array | undefined, done: Done): MseStep<Done> {
    this.outcome = "done"
    return send === undefined ? { done } : { send, done }
  }

  protected fail(error: string): MseStep<Done> {
    this.outcome = "failed"
    this.error = error
    return { error }
  }

  /** Skips what it can of the pad in `chunk` from `at`, through `incoming`; returns the position after it. */
  protected skipPad(incoming: Rc4, chunk: Uint8Array, at: number): number {
    const take = Math.min(this.padRemaining, chunk.length - at)
    incoming.skip(take)
    this.padRemaining -= take
    return at + take
  }
}
