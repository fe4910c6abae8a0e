/**
 * A small "WAN" between two endpoints on loopback: a TCP and UDP relay that adds one-way delay, jitter, a rate cap
 * and (UDP only) random loss, each direction on its own. This kernel has no netem, so the relay does it in user
 * space.
 *
 * Clients connect to `listen` (TCP and UDP on one port). The relay reaches `target` from `sourceHost`, so the far
 * side sees the relay, not the client. Give the client, the relay and the target each their own 127.x address:
 * a peer learns the client's listening port from BEP 10 `p` and would dial it directly around the relay, which
 * leads nowhere when the client listens only on its own address.
 *
 * TCP: bytes keep their order (jitter never reorders a stream); a direction whose queue holds more than
 * `bufferBytes` pauses its sender, as a bottleneck's buffer fills and TCP backs off. UDP: each datagram is lost
 * with probability `loss`, or delayed by `delayMs` ± `jitterMs` (so it may overtake another), or dropped when the
 * queue is past `bufferBytes` (tail drop, as a router does).
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram"
import { connect, createServer, type Server, type Socket } from "node:net"

export interface LinkShape {
  /** One-way delay, ms: the round trip is twice this. */
  readonly delayMs: number
  /** Each packet's delay varies by up to this, ms, either way. Default 0. */
  readonly jitterMs?: number
  /** Bytes per second each way; unlimited when absent. */
  readonly rate?: number
  /** UDP only: the chance each datagram is lost, 0 to 1. Default 0. */
  readonly loss?: number
  /** Bytes queued per direction at most (see above). Default: 100 ms at `rate`, at least 256 KiB. */
  readonly bufferBytes?: number
  /** For repeatable jitter and loss. Default 1. */
  readonly seed?: number
}

export interface LinkEmulatorOptions {
  /** Where clients reach the relay; port 0 picks a free one (TCP, then UDP on the same number). */
  readonly listen: { readonly host: string; readonly port?: number }
  readonly target: { readonly host: string; readonly port: number }
  /** The address the relay reaches the target from. */
  readonly sourceHost: string
  readonly shape: LinkShape
}

export interface LinkEmulator {
  readonly host: string
  readonly port: number
  /** TCP connections accepted so far. */
  readonly connections: () => number
  /** UDP datagrams relayed and lost, both directions. */
  readonly datagrams: () => { readonly relayed: number; readonly lost: number }
  readonly close: () => Promise<void>
}

/** A small seeded generator, uniform in [0, 1). */
const lcg = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

/**
 * One direction of the link: packets leave the sender at most at `rate`, then arrive `delay` (± jitter) later.
 * `deliver` runs for each at its arrival time. In order (TCP), packets wait in one FIFO with one timer for the
 * head, so none can overtake another (timers of different lengths may fire out of order); out of order (UDP), each
 * has a timer of its own.
 */
class Direction {
  private queued = 0
  /** When the last packet finished leaving the bottleneck. */
  private departed = 0
  private lastArrival = 0
  private readonly fifo: Array<{ readonly at: number; readonly run: () => void }> = []
  private head: ReturnType<typeof setTimeout> | undefined
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()

  constructor(
    private readonly shape: LinkShape,
    private readonly random: () => number,
    private readonly inOrder: boolean,
    readonly limit: number
  ) {}

  get backlog(): number {
    return this.queued
  }

  send(bytes: Uint8Array, deliver: (bytes: Uint8Array) => void, drained: () => void): void {
    const now = performance.now()
    const serialise = this.shape.rate === undefined ? 0 : (bytes.length / this.shape.rate) * 1000
    this.departed = Math.max(now, this.departed) + serialise
    const jitter = ((this.random() * 2) - 1) * (this.shape.jitterMs ?? 0)
    let arrival = this.departed + Math.max(0, this.shape.delayMs + jitter)
    if (this.inOrder) arrival = Math.max(arrival, this.lastArrival)
    this.lastArrival = arrival
    this.queued += bytes.length
    const run = () => {
      this.queued -= bytes.length
      deliver(bytes)
      if (this.queued <= this.limit / 2) drained()
    }
    if (this.inOrder) {
      this.fifo.push({ at: arrival, run })
      if (this.head === undefined) this.arm()
      return
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      run()
    }, Math.max(0, arrival - now))
    this.timers.add(timer)
  }

  /** Delivers every packet of the FIFO that is due, then waits for the next. */
  private arm(): void {
    const next = this.fifo[0]
    if (next === undefined) {
      this.head = undefined
      return
    }
    this.head = setTimeout(() => {
      const now = performance.now()
      while (this.fifo.length > 0 && this.fifo[0]!.at <= now + 0.5) this.fifo.shift()!.run()
      this.arm()
    }, Math.max(0, next.at - performance.now()))
  }

  stop(): void {
    if (this.head !== undefined) clearTimeout(this.head)
    this.fifo.length = 0
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }
}

export const startLinkEmulator = async (options: LinkEmulatorOptions): Promise<LinkEmulator> => {
  const { shape } = options
  const random = lcg(shape.seed ?? 1)
  const limit = shape.bufferBytes ?? Math.max(256 * 1024, Math.round((shape.rate ?? 0) * 0.1))
  const directions: Array<Direction> = []
  const direction = (inOrder: boolean) => {
    const made = new Direction(shape, random, inOrder, limit)
    directions.push(made)
    return made
  }
  let connections = 0
  const sockets = new Set<Socket>()

  /** Relays `from` to `to` through one direction, pausing `from` while the direction's queue is full. */
  const pipe = (from: Socket, to: Socket) => {
    const way = direction(true)
    from.on("data", (chunk: Buffer) => {
      way.send(chunk, (bytes) => {
        if (!to.destroyed) to.write(bytes)
      }, () => {
        if (from.isPaused()) from.resume()
      })
      if (way.backlog > limit) from.pause()
    })
    // An end or error on one side ends the other once what is in flight has arrived.
    const finish = () => way.send(new Uint8Array(0), () => to.destroy(), () => {})
    from.on("end", finish)
    from.on("error", finish)
    from.on("close", finish)
  }

  const server: Server = createServer((client) => {
    connections++
    sockets.add(client)
    const upstream = connect({ host: options.target.host, port: options.target.port, localAddress: options.sourceHost })
    sockets.add(upstream)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    pipe(client, upstream)
    pipe(upstream, client)
    client.on("close", () => sockets.delete(client))
    upstream.on("close", () => sockets.delete(upstream))
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.listen.port ?? 0, options.listen.host, () => resolve())
  })
  const port = (server.address() as { readonly port: number }).port

  // UDP: one socket facing clients on the same port, and one towards the target per client.
  const facing: UdpSocket = createSocket("udp4")
  await new Promise<void>((resolve, reject) => {
    facing.once("error", reject)
    facing.bind(port, options.listen.host, () => resolve())
  })
  const flows = new Map<string, { readonly out: UdpSocket; readonly up: Direction; readonly down: Direction }>()
  let relayed = 0
  let lost = 0
  const lose = () => {
    if (random() < (shape.loss ?? 0)) {
      lost++
      return true
    }
    relayed++
    return false
  }
  facing.on("message", (message: Buffer, client: RemoteInfo) => {
    const key = `${client.address}:${client.port}`
    let flow = flows.get(key)
    if (flow === undefined) {
      const out = createSocket("udp4")
      out.bind(0, options.sourceHost)
      const made = { out, up: direction(false), down: direction(false) }
      out.on("message", (reply: Buffer) => {
        if (lose() || made.down.backlog > limit) return
        made.down.send(reply, (bytes) => facing.send(bytes, client.port, client.address), () => {})
      })
      flows.set(key, made)
      flow = made
    }
    if (lose() || flow.up.backlog > limit) return
    const { out } = flow
    flow.up.send(message, (bytes) => out.send(bytes, options.target.port, options.target.host), () => {})
  })

  return {
    host: options.listen.host,
    port,
    connections: () => connections,
    datagrams: () => ({ relayed, lost }),
    close: async () => {
      for (const way of directions) way.stop()
      for (const socket of sockets) socket.destroy()
      for (const flow of flows.values()) flow.out.close()
      facing.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
