/**
 * Runs an MseInitiator against an MseResponder in memory, each direction's bytes cut into chunks where a test says.
 * Once a side is done it sends its payload through its streams, and everything it receives after is decrypted with
 * them, so a run shows the handshake and the payload streams working together.
 */
import {
  type MseInitiatorDone,
  MseInitiator,
  type MseInitiatorOptions,
  MseResponder,
  type MseResponderDone,
  type MseResponderOptions,
  type MseStep
} from "../../../src/peer/mse/index.js"

export type Direction = "toResponder" | "toInitiator"

/** Whether a direction's stream is cut before the byte at `offset` (counted from the connection's start). */
export type Cuts = (direction: Direction, offset: number) => boolean

export const noCuts: Cuts = () => false
export const everyByte: Cuts = () => true
export const cutAt = (direction: Direction, at: number): Cuts => (d, offset) => d === direction && offset === at

export interface RunOptions {
  readonly initiator: MseInitiatorOptions
  readonly responder: MseResponderOptions
  /** What each side sends once done. */
  readonly payloadFromInitiator?: Uint8Array
  readonly payloadFromResponder?: Uint8Array
  readonly cuts?: Cuts
}

export interface SideResult<Done> {
  readonly done: Done | undefined
  readonly error: string | undefined
  /** `rest` and every later chunk decrypted, concatenated. */
  readonly received: Uint8Array
  /** The most `buffered` said at any point. */
  readonly maxBuffered: number
}

export interface RunResult {
  readonly initiator: SideResult<MseInitiatorDone>
  readonly responder: SideResult<MseResponderDone>
  /** All bytes that went each way. */
  readonly wire: Record<Direction, Uint8Array>
}

export const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

class Pipe {
  bytes: Uint8Array = new Uint8Array(0)
  delivered = 0
  constructor(readonly direction: Direction, private readonly cuts: Cuts) {}
  push(bytes: Uint8Array): void {
    this.bytes = concat(this.bytes, bytes)
  }
  /** The next chunk: everything pending up to the next cut. */
  next(): Uint8Array | undefined {
    if (this.delivered === this.bytes.length) return undefined
    let end = this.delivered + 1
    while (end < this.bytes.length && !this.cuts(this.direction, end)) end++
    // A copy, as a socket would give: the receiver may decrypt it in place.
    const chunk = this.bytes.slice(this.delivered, end)
    this.delivered = end
    return chunk
  }
}

class Side<Done extends { rest: Uint8Array; encrypt: (b: Uint8Array) => Uint8Array; decrypt: (b: Uint8Array) => Uint8Array }> {
  done: Done | undefined
  error: string | undefined
  received: Array<Uint8Array> = []
  maxBuffered = 0
  constructor(
    private readonly machine: { receive: (chunk: Uint8Array) => MseStep<Done>; readonly buffered: number },
    private readonly out: Pipe,
    private readonly payload: Uint8Array | undefined
  ) {}
  deliver(chunk: Uint8Array): void {
    if (this.error !== undefined) return
    if (this.done !== undefined) {
      this.received.push(this.done.decrypt(chunk))
      return
    }
    const step = this.machine.receive(chunk)
    this.maxBuffered = Math.max(this.maxBuffered, this.machine.buffered)
    if (step.error !== undefined) {
      if (step.send !== undefined || step.done !== undefined) throw new Error("an error comes alone")
      this.error = step.error
      return
    }
    if (step.send !== undefined) this.out.push(step.send)
    if (step.done !== undefined) {
      this.done = step.done
      this.received.push(step.done.rest)
      if (this.payload !== undefined) this.out.push(step.done.encrypt(this.payload))
    }
  }
  result(): SideResult<Done> {
    return { done: this.done, error: this.error, received: concat(...this.received), maxBuffered: this.maxBuffered }
  }
}

export const runHandshake = (options: RunOptions): RunResult => {
  const cuts = options.cuts ?? noCuts
  const toResponder = new Pipe("toResponder", cuts)
  const toInitiator = new Pipe("toInitiator", cuts)
  const initiator = new MseInitiator(options.initiator)
  const responder = new MseResponder(options.responder)
  const a = new Side(initiator, toResponder, options.payloadFromInitiator)
  const b = new Side(responder, toInitiator, options.payloadFromResponder)
  toResponder.push(initiator.start())
  for (;;) {
    const forB = toResponder.next()
    if (forB !== undefined) b.deliver(forB)
    const forA = toInitiator.next()
    if (forA !== undefined) a.deliver(forA)
    if (forA === undefined && forB === undefined) break
  }
  return {
    initiator: a.result(),
    responder: b.result(),
    wire: { toResponder: toResponder.bytes, toInitiator: toInitiator.bytes }
  }
}
