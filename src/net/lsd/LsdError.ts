import * as Data from "effect/Data"

/** What went wrong with Local Service Discovery. `message` is one sentence. */
export class LsdError extends Data.TaggedError("LsdError")<{
  /** Bind: no socket could join the multicast group (none of the families). */
  readonly reason: "Bind"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `local service discovery: ${this.detail}`
  }
}
