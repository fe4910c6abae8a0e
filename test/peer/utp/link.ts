/**
 * Two uTP state machines over a simulated link driven by a fake clock, for the socket tests. Packets go through the
 * codec; each is lost, delayed (base plus jitter, so packets overtake each other) or duplicated by a seeded PRNG, so
 * a failing run repeats. Time moves in 1 ms steps; both sockets are ticked every step.
 */
import { decodePacket, encodePacket, type Packet } from "../../../src/peer/utp/packet.js"
import {
  type UtpAcceptOptions,
  type UtpEvent,
  type UtpOutput,
  UtpSocket,
  type UtpSocketOptions
} from "../../../src/peer/utp/socket.js"

/** A small seeded PRNG (mulberry32). */
export const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export const bytesOf = (length: number, seed: number): Uint8Array => {
  const random = prng(seed)
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = (random() * 256) | 0
  return bytes
}

export interface LinkOptions {
  /** The share of packets lost, each way. */
  readonly loss: number
  /** One-way delay: base plus up to `jitterMs`, drawn per packet. */
  readonly delayMs: number
  readonly jitterMs: number
  /** The share of packets delivered twice (the copy with its own delay). */
  readonly duplicate?: number
  readonly seed: number
}

export type SideName = "a" | "b"

export interface Side {
  socket: UtpSocket | undefined
  readonly received: Array<Uint8Array>
  receivedBytes: number
  readonly events: Array<UtpEvent["type"]>
  /** Packets this side handed to the link. */
  readonly sent: Array<Packet>
  /** When a packet last reached this side. */
  heardAt: number
}

const other = (name: SideName): SideName => (name === "a" ? "b" : "a")

/**
 * A connection between `a` (the initiator) and `b` (the acceptor, created by the first SYN that reaches it).
 * `drop` can remove chosen packets on top of the random loss.
 */
export class Pair {
  now = 0
  readonly a: Side = { socket: undefined, received: [], receivedBytes: 0, events: [], sent: [], heardAt: 0 }
  readonly b: Side = { socket: undefined, received: [], receivedBytes: 0, events: [], sent: [], heardAt: 0 }
  /** Packets waiting on the link, by the millisecond they arrive. */
  private readonly inTransit = new Map<number, Array<{ readonly to: SideName; readonly bytes: Uint8Array }>>()
  private readonly random: () => number
  drop: (to: SideName, packet: Packet) => boolean = () => false

  constructor(
    readonly link: LinkOptions,
    private readonly acceptOptions: UtpAcceptOptions = { seqNr: 0xfff0 }
  ) {
    this.random = prng(link.seed)
  }

  side(name: SideName): Side {
    return name === "a" ? this.a : this.b
  }

  connect(options: UtpSocketOptions = { connectionId: 0x4242 }): void {
    const [socket, out] = UtpSocket.connect(options, this.now)
    this.a.socket = socket
    this.apply("a", out)
  }

  /** Records what `from`'s socket answered and puts its packets on the link. */
  apply(from: SideName, out: UtpOutput): void {
    const side = this.side(from)
    for (const event of out.events) {
      side.events.push(event.type)
      if (event.type === "data") {
        side.received.push(event.bytes)
        side.receivedBytes += event.bytes.length
      }
    }
    for (const packet of out.packets) {
      side.sent.push(packet)
      this.send(other(from), packet)
    }
  }

  /** Puts a packet on the link towards `to`, subject to loss, delay and duplication. */
  send(to: SideName, packet: Packet): void {
    if (this.drop(to, packet) || this.random() < this.link.loss) return
    const bytes = encodePacket(packet)
    const copies = this.random() < (this.link.duplicate ?? 0) ? 2 : 1
    for (let i = 0; i < copies; i++) {
      const at = this.now + Math.max(1, Math.ceil(this.link.delayMs + this.random() * this.link.jitterMs))
      const due = this.inTransit.get(at)
      if (due === undefined) this.inTransit.set(at, [{ to, bytes }])
      else due.push({ to, bytes })
    }
  }

  /**
   * Moves the clock 1 ms: delivers what arrives now, lets each socket send the ACK it owes for that burst (as a
   * transport does after a read), then ticks both sockets.
   */
  step(): void {
    this.now++
    const due = this.inTransit.get(this.now)
    this.inTransit.delete(this.now)
    for (const { to, bytes } of due ?? []) this.deliver(to, bytes)
    for (const name of ["a", "b"] as const) {
      const socket = this.side(name).socket
      if (socket !== undefined) this.apply(name, socket.flushAck(this.now))
    }
    for (const name of ["a", "b"] as const) {
      const socket = this.side(name).socket
      if (socket !== undefined) this.apply(name, socket.tick(this.now))
    }
  }

  private deliver(to: SideName, bytes: Uint8Array): void {
    const packet = decodePacket(bytes)
    if (typeof packet === "string") throw new Error(packet)
    const side = this.side(to)
    side.heardAt = this.now
    if (side.socket === undefined) {
      if (to !== "b" || packet.type !== "syn") return
      const [socket, out] = UtpSocket.accept(packet, this.acceptOptions, this.now)
      side.socket = socket
      return this.apply("b", out)
    }
    this.apply(to, side.socket.receive(packet, this.now))
  }

  /** Steps until `done` or `limitMs` of simulated time; `each` runs before every step. Answers whether `done`. */
  runUntil(done: () => boolean, limitMs: number, each: () => void = () => {}): boolean {
    const end = this.now + limitMs
    while (this.now < end) {
      if (done()) return true
      each()
      this.step()
    }
    return done()
  }
}

/** Whether a side's connection is over: closed, timed out or reset (no socket of `b`'s: never accepted). */
const ended = (side: Side) => side.socket === undefined || side.socket.state === "closed" || side.socket.state === "reset"

/**
 * `a` connects, writes `payload` and closes; `b` writes `back` (if any) once connected, and closes once it has read
 * to the end. Runs until both connections are over (closed, timed out or reset; `b` never accepted once `a`'s is
 * over) or `limitMs` of simulated time passed.
 */
export const transfer = (
  payload: Uint8Array,
  link: LinkOptions,
  limitMs = 600_000,
  options: {
    readonly delayedAcks?: boolean
    /** The connection id `a` picks, and the first sequence numbers of each side. */
    readonly connectionId?: number
    readonly seqA?: number
    readonly seqB?: number
    /** What `b` sends `a` meanwhile. */
    readonly back?: Uint8Array
  } = {}
) => {
  const delayedAcks = options.delayedAcks ?? false
  const pair = new Pair(link, { seqNr: options.seqB ?? 0xfff0, delayedAcks }) // 0xfff0: wraps soon
  pair.connect({
    connectionId: options.connectionId ?? 0x4242,
    ...(options.seqA === undefined ? {} : { seqNr: options.seqA }),
    delayedAcks
  })
  let written = false
  let bClosing = false
  let bWritten = options.back === undefined
  const { a, b } = pair
  pair.runUntil(() => ended(a) && ended(b), limitMs, () => {
    if (!written && a.socket!.state === "connected") {
      written = true
      pair.apply("a", a.socket!.write(payload, pair.now))
      pair.apply("a", a.socket!.close(pair.now))
    }
    if (!bWritten && b.socket?.state === "connected") {
      bWritten = true
      pair.apply("b", b.socket.write(options.back!, pair.now))
    }
    if (!bClosing && b.events.includes("eof")) {
      bClosing = true
      pair.apply("b", b.socket!.close(pair.now))
    }
  })
  return { pair, a, b, now: pair.now, received: Buffer.concat(b.received), receivedBack: Buffer.concat(a.received) }
}
