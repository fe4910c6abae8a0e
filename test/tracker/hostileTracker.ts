/**
 * A hostile in-process tracker for tests: an HTTP server and a UDP server on 127.0.0.1, port 0. The test scripts
 * each answer; the server records what it received and closes with the test's scope.
 */
import { Deferred, Duration, Effect, Exit, FiberId, Schedule, type Scope } from "effect"
import * as dgram from "node:dgram"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as net from "node:net"

// ---------------------------------------------------------------------------------------------------------------
// Query strings with binary values

/** Decodes a percent-encoded query value to raw bytes (`info_hash` is binary, so not UTF-8 text). */
export const percentDecodeBytes = (value: string): Uint8Array => {
  const out: Array<number> = []
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!
    if (char === "%" && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      out.push(parseInt(value.slice(i + 1, i + 3), 16))
      i += 2
    } else if (char === "+") {
      out.push(0x20)
    } else {
      out.push(...Buffer.from(char, "utf8"))
    }
  }
  return Uint8Array.from(out)
}

/** Every value of every parameter in a raw query string, as bytes. */
const parseQuery = (query: string): ReadonlyMap<string, ReadonlyArray<Uint8Array>> => {
  const params = new Map<string, Array<Uint8Array>>()
  for (const part of query.split("&")) {
    if (part === "") continue
    const eq = part.indexOf("=")
    const name = Buffer.from(percentDecodeBytes(eq === -1 ? part : part.slice(0, eq))).toString("latin1")
    const value = percentDecodeBytes(eq === -1 ? "" : part.slice(eq + 1))
    params.set(name, [...(params.get(name) ?? []), value])
  }
  return params
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

/** How the HTTP server answers one request. */
export type HttpReply =
  /** A complete answer. */
  | {
    readonly _tag: "Answer"
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly body: Uint8Array
  }
  /** A redirect to `location` (absolute, or relative to the request). */
  | { readonly _tag: "Redirect"; readonly status: number; readonly location: string }
  /** Accept the request and never answer. */
  | { readonly _tag: "Silent" }
  /** A 200 whose body arrives `chunkBytes` at a time, one piece every `everyMillis`. */
  | { readonly _tag: "Drip"; readonly body: Uint8Array; readonly chunkBytes: number; readonly everyMillis: number }
  /** A body of `totalBytes` (or without end), written as fast as the client reads it. */
  | { readonly _tag: "Flood"; readonly status: number; readonly totalBytes: number | undefined }
  /** Headers promising `announcedBytes`, then `body`, then the connection is destroyed. */
  | { readonly _tag: "Cut"; readonly announcedBytes: number; readonly body: Uint8Array }

const bytesOf = (body: string | Uint8Array): Uint8Array =>
  typeof body === "string" ? Buffer.from(body, "latin1") : body

export const HttpReply = {
  answer: (
    body: string | Uint8Array,
    options: { readonly status?: number; readonly headers?: Readonly<Record<string, string>> } = {}
  ): HttpReply => ({
    _tag: "Answer",
    status: options.status ?? 200,
    headers: options.headers ?? {},
    body: bytesOf(body)
  }),
  redirect: (location: string, status = 302): HttpReply => ({ _tag: "Redirect", status, location }),
  silent: { _tag: "Silent" } as HttpReply,
  drip: (body: string | Uint8Array, chunkBytes: number, everyMillis: number): HttpReply => ({
    _tag: "Drip",
    body: bytesOf(body),
    chunkBytes,
    everyMillis
  }),
  flood: (options: { readonly status?: number; readonly totalBytes?: number } = {}): HttpReply => ({
    _tag: "Flood",
    status: options.status ?? 200,
    totalBytes: options.totalBytes
  }),
  cut: (body: string | Uint8Array, announcedBytes: number): HttpReply => ({
    _tag: "Cut",
    announcedBytes,
    body: bytesOf(body)
  })
} as const

/** How an answer's connection ended: `finished` false means the client hung up before the whole answer was sent. */
export interface HttpClosed {
  readonly finished: boolean
  readonly bytesSent: number
}

/** One request the HTTP server received. */
export interface HttpRequestSeen {
  readonly method: string
  readonly path: string
  /** The raw query string, without the `?`. */
  readonly query: string
  readonly headers: http.IncomingHttpHeaders
  /** The values of a query parameter, as bytes (empty when absent). */
  readonly paramBytes: (name: string) => ReadonlyArray<Uint8Array>
  /** The only value of a query parameter as text, `undefined` when absent. Fails the test when repeated. */
  readonly param: (name: string) => string | undefined
  /** Completes when the answer's connection closed, one way or the other. */
  readonly closed: Deferred.Deferred<HttpClosed>
}

export interface HostileHttp {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string
  /** `<origin>/announce`. */
  readonly announceUrl: string
  /** Requests in the order received (a live array). */
  readonly requests: ReadonlyArray<HttpRequestSeen>
  /** TCP connections accepted so far. */
  readonly connections: () => number
  /** Succeeds once no connection is open, or fails after `within`: the client released every socket. */
  readonly allClosed: (within?: Duration.DurationInput) => Effect.Effect<void, string>
}

/** Writes up to `total` bytes (forever when undefined), honouring back-pressure, until done or the client leaves. */
const flood = (res: http.ServerResponse, total: number | undefined, sent: { bytes: number }) => {
  const chunk = Buffer.alloc(64 * 1024, "x".charCodeAt(0))
  const pump = () => {
    while (!res.destroyed) {
      const left = total === undefined ? chunk.length : Math.min(chunk.length, total - sent.bytes)
      if (left <= 0) {
        res.end()
        return
      }
      sent.bytes += left
      if (!res.write(left === chunk.length ? chunk : chunk.subarray(0, left))) {
        res.once("drain", pump)
        return
      }
    }
  }
  pump()
}

const answer = (reply: HttpReply, res: http.ServerResponse, sent: { bytes: number }) => {
  switch (reply._tag) {
    case "Answer":
      res.writeHead(reply.status, { "content-length": String(reply.body.length), ...reply.headers })
      sent.bytes = reply.body.length
      res.end(reply.body)
      return
    case "Redirect":
      res.writeHead(reply.status, { location: reply.location, "content-length": "0" })
      res.end()
      return
    case "Silent":
      return
    case "Drip": {
      res.writeHead(200, { "content-length": String(reply.body.length) })
      let at = 0
      const timer = setInterval(() => {
        const piece = reply.body.subarray(at, at + reply.chunkBytes)
        at += piece.length
        sent.bytes += piece.length
        if (at >= reply.body.length) {
          clearInterval(timer)
          res.end(piece)
        } else {
          res.write(piece)
        }
      }, reply.everyMillis)
      res.once("close", () => clearInterval(timer))
      return
    }
    case "Flood":
      res.writeHead(reply.status, reply.totalBytes === undefined ? {} : { "content-length": String(reply.totalBytes) })
      flood(res, reply.totalBytes, sent)
      return
    case "Cut":
      res.writeHead(200, { "content-length": String(reply.announcedBytes) })
      sent.bytes = reply.body.length
      res.write(reply.body, () => res.destroy())
      return
  }
}

/**
 * An HTTP server on 127.0.0.1 answering each request as `script` says (`index` counts from 0). Closed, with every
 * connection, when the scope closes.
 */
export const httpTracker = (
  script: (request: HttpRequestSeen, index: number) => HttpReply
): Effect.Effect<HostileHttp, never, Scope.Scope> =>
  Effect.gen(function*() {
    const requests: Array<HttpRequestSeen> = []
    let connections = 0
    let open = 0
    const server = yield* Effect.acquireRelease(
      Effect.async<http.Server>((resume) => {
        const server = http.createServer((req, res) => {
          const target = req.url ?? "/"
          const mark = target.indexOf("?")
          const query = mark === -1 ? "" : target.slice(mark + 1)
          const params = parseQuery(query)
          const seen: HttpRequestSeen = {
            method: req.method ?? "",
            path: mark === -1 ? target : target.slice(0, mark),
            query,
            headers: req.headers,
            paramBytes: (name) => params.get(name) ?? [],
            param: (name) => {
              const values = params.get(name) ?? []
              if (values.length > 1) throw new Error(`query parameter ${name} appears ${values.length} times`)
              return values[0] === undefined ? undefined : Buffer.from(values[0]).toString("latin1")
            },
            closed: Deferred.unsafeMake<HttpClosed>(FiberId.none)
          }
          const sent = { bytes: 0 }
          res.once("close", () =>
            Deferred.unsafeDone(seen.closed, Exit.succeed({ finished: res.writableFinished, bytesSent: sent.bytes })))
          requests.push(seen)
          answer(script(seen, requests.length - 1), res, sent)
        })
        server.on("connection", (socket) => {
          connections += 1
          open += 1
          socket.once("close", () => {
            open -= 1
          })
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const { port } = server.address() as AddressInfo
    const origin = `http://127.0.0.1:${port}`
    const allClosed = (within: Duration.DurationInput = "2 seconds") =>
      Effect.suspend(() => open === 0 ? Effect.void : Effect.fail(`${open} connection(s) open`)).pipe(
        Effect.retry(Schedule.spaced("10 millis")),
        Effect.timeoutFail({
          duration: within,
          onTimeout: () => `${open} connection(s) still open after ${Duration.format(Duration.decode(within))}`
        })
      )
    return { origin, announceUrl: `${origin}/announce`, requests, connections: () => connections, allClosed }
  })

/** A TCP port on 127.0.0.1 with nothing listening on it (it was free a moment ago). */
export const closedPort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

// ---------------------------------------------------------------------------------------------------------------
// UDP (BEP 15)

/** One datagram the UDP server received, with its 16-byte request header read (zeros when shorter). */
export interface UdpPacketSeen {
  readonly bytes: Uint8Array
  /** The first 8 bytes: the protocol id for a connect, the connection id otherwise. */
  readonly connectionId: Uint8Array
  readonly action: number
  readonly transactionId: number
}

/** What to send back for one packet: one datagram, several in order, or nothing. */
export type UdpReply = Uint8Array | ReadonlyArray<Uint8Array> | undefined

export interface HostileUdp {
  /** `udp://127.0.0.1:<port>/announce`. */
  readonly announceUrl: string
  /** Datagrams in the order received (a live array). */
  readonly packets: ReadonlyArray<UdpPacketSeen>
}

const readHeader = (bytes: Uint8Array): UdpPacketSeen => {
  const header = Buffer.alloc(16)
  header.set(bytes.subarray(0, 16))
  return {
    bytes,
    connectionId: Uint8Array.from(header.subarray(0, 8)),
    action: header.readUInt32BE(8),
    transactionId: header.readUInt32BE(12)
  }
}

/**
 * A UDP server on 127.0.0.1 answering each datagram as `script` says (`index` counts from 0). Closed when the scope
 * closes.
 */
export const udpTracker = (
  script: (packet: UdpPacketSeen, index: number) => UdpReply
): Effect.Effect<HostileUdp, never, Scope.Scope> =>
  Effect.gen(function*() {
    const packets: Array<UdpPacketSeen> = []
    const socket = yield* Effect.acquireRelease(
      Effect.async<dgram.Socket>((resume) => {
        const socket = dgram.createSocket("udp4")
        socket.on("message", (message, from) => {
          const packet = readHeader(Uint8Array.from(message))
          packets.push(packet)
          const reply = script(packet, packets.length - 1)
          const replies = reply === undefined ? [] : reply instanceof Uint8Array ? [reply] : reply
          for (const bytes of replies) {
            socket.send(bytes, from.port, from.address)
          }
        })
        socket.bind(0, "127.0.0.1", () => resume(Effect.succeed(socket)))
      }),
      (socket) =>
        Effect.async<void>((resume) => {
          socket.close(() => resume(Effect.void))
        })
    )
    return { announceUrl: `udp://127.0.0.1:${socket.address().port}/announce`, packets }
  })

/** IPv4 peers in the compact format (BEP 23): 4 address bytes and a big-endian port each. */
export const compactPeers = (peers: ReadonlyArray<{ readonly host: string; readonly port: number }>): Uint8Array => {
  const out = Buffer.alloc(6 * peers.length)
  peers.forEach((peer, i) => {
    peer.host.split(".").forEach((part, j) => out.writeUInt8(Number(part), 6 * i + j))
    out.writeUInt16BE(peer.port, 6 * i + 4)
  })
  return out
}

/** `count` distinct IPv4 peers in the compact format: 10.x.y.z, port 6881. */
export const manyPeers = (count: number): Uint8Array =>
  compactPeers(Array.from({ length: count }, (_, i) => ({
    host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 6881
  })))

const packet = (action: number, transactionId: number, rest: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const out = Buffer.alloc(8 + rest.length)
  out.writeUInt32BE(action, 0)
  out.writeUInt32BE(transactionId >>> 0, 4)
  out.set(rest, 8)
  return out
}

const uint32s = (...values: ReadonlyArray<number>): Uint8Array => {
  const out = Buffer.alloc(4 * values.length)
  values.forEach((value, i) => out.writeUInt32BE(value >>> 0, 4 * i))
  return out
}

/** Tracker datagrams (BEP 15), built by hand so tests can also build wrong ones. */
export const UdpPacket = {
  /** Any action with any payload after the 8-byte header. */
  raw: packet,
  connect: (transactionId: number, connectionId: Uint8Array): Uint8Array => packet(0, transactionId, connectionId),
  announce: (
    transactionId: number,
    answer: {
      readonly interval: number
      readonly leechers: number
      readonly seeders: number
      readonly peers: Uint8Array
    }
  ): Uint8Array =>
    packet(1, transactionId, Buffer.concat([uint32s(answer.interval, answer.leechers, answer.seeders), answer.peers])),
  scrape: (
    transactionId: number,
    entries: ReadonlyArray<{ readonly complete: number; readonly downloaded: number; readonly incomplete: number }>
  ): Uint8Array =>
    packet(2, transactionId, uint32s(...entries.flatMap((e) => [e.complete, e.downloaded, e.incomplete]))),
  error: (transactionId: number, message: string): Uint8Array => packet(3, transactionId, Buffer.from(message, "utf8"))
} as const

/** The fields of an announce request (BEP 15), as the tracker reads them. */
export const readAnnounce = (bytes: Uint8Array) => {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return {
    infoHash: Uint8Array.from(view.subarray(16, 36)),
    peerId: Uint8Array.from(view.subarray(36, 56)),
    downloaded: Number(view.readBigUInt64BE(56)),
    left: Number(view.readBigUInt64BE(64)),
    uploaded: Number(view.readBigUInt64BE(72)),
    event: view.readUInt32BE(80),
    ip: view.readUInt32BE(84),
    key: view.readUInt32BE(88),
    numWant: view.readInt32BE(92),
    port: view.readUInt16BE(96)
  }
}
