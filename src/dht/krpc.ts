/**
 * KRPC (BEP 5): the DHT's messages, one bencoded dictionary per UDP datagram. A query (`y` = "q") names a method in
 * `q` with arguments in `a`; a response (`y` = "r") carries return values in `r`; an error (`y` = "e") carries
 * `[code, message]` in `e`. Every message has a transaction id `t`, chosen by the querier and echoed back, and may
 * carry a client version `v`. Also read and written: BEP 32's `nodes6` and `want`, BEP 42's `ip`, BEP 43's `ro`.
 * Pure: no I/O, no services.
 *
 * A response does not say which query it answers: only the querier knows, from the transaction. So responses
 * decode to one generic shape whose optional keys are each validated when present, and `checkResponse` says
 * whether one fits the method that was asked.
 */
import * as Either from "effect/Either"
import { type BDict, type BValue, decode, encode, isBytes, isDict, isInteger, isList } from "../bencode/index.js"
import { decodeCompactPeer, encodeCompactPeer, type PeerAddress } from "../wire/compactPeer.js"
import { type DhtNode, decodeCompactNodes, encodeCompactNodes } from "./DhtNode.js"
import { KrpcDecodeError, type KrpcDecodeErrorReason } from "./KrpcError.js"
import { isNodeId, type NodeId } from "./NodeId.js"

/**
 * The largest datagram `decodeKrpc` reads: one Ethernet MTU. BEP 32 has nodes send at most 1024 bytes and receive
 * more "in the interest of robustness"; nothing BEP 5 defines comes near 1500, so a bigger packet is refused unread.
 */
export const MAX_KRPC_PACKET = 1500

/** The most `values` peers kept from one response (the rest are ignored). 100 is what nodes commonly send. */
export const MAX_VALUES = 100

/** BEP 5's error codes. */
export const KrpcErrorCode = { generic: 201, server: 202, protocol: 203, methodUnknown: 204 } as const

/** BEP 32's `want`: which node lists the querier would like in the answer. */
export type Want = "n4" | "n6"

interface Envelope {
  /** `t`: opaque bytes chosen by the querier, echoed in the answer. */
  readonly transactionId: Uint8Array
  /** `v`: the sender's client and version (BEP 20 style), when it says. */
  readonly version?: Uint8Array
}

interface QueryEnvelope extends Envelope {
  readonly kind: "query"
  /** The querying node's id. */
  readonly id: NodeId
  /** BEP 43 `ro`: the querier does not answer queries, so it should not be added to routing tables. */
  readonly readOnly?: boolean
}

export interface PingQuery extends QueryEnvelope {
  readonly method: "ping"
}

export interface FindNodeQuery extends QueryEnvelope {
  readonly method: "find_node"
  readonly target: NodeId
  readonly want?: ReadonlyArray<Want>
}

export interface GetPeersQuery extends QueryEnvelope {
  readonly method: "get_peers"
  readonly infoHash: Uint8Array
  readonly want?: ReadonlyArray<Want>
}

export interface AnnouncePeerQuery extends QueryEnvelope {
  readonly method: "announce_peer"
  readonly infoHash: Uint8Array
  /** The peer's TCP port; 0 when absent, which only `impliedPort` allows. */
  readonly port: number
  /** `implied_port` non-zero: use the UDP source port of the query instead of `port`. */
  readonly impliedPort?: boolean
  /** The token the queried node gave us in answer to `get_peers`. */
  readonly token: Uint8Array
}

export type KrpcQuery = PingQuery | FindNodeQuery | GetPeersQuery | AnnouncePeerQuery
export type QueryMethod = KrpcQuery["method"]

/** Any response. Which keys it must have depends on the query it answers: see `checkResponse`. */
export interface KrpcResponse extends Envelope {
  readonly kind: "response"
  /** The responding node's id. */
  readonly id: NodeId
  /** `nodes`: IPv4 nodes, from 26-byte entries. */
  readonly nodes?: ReadonlyArray<DhtNode>
  /** `nodes6` (BEP 32): IPv6 nodes, from 38-byte entries. */
  readonly nodes6?: ReadonlyArray<DhtNode>
  /** `values`: peers for a `get_peers` info-hash, IPv4 and IPv6 mixed (BEP 32), at most `MAX_VALUES`. */
  readonly values?: ReadonlyArray<PeerAddress>
  /** The write token to present in a later `announce_peer`. */
  readonly token?: Uint8Array
  /** BEP 42 `ip`: our own address as the responder saw it. Ignored when malformed. */
  readonly ip?: PeerAddress
}

export interface KrpcErrorMessage extends Envelope {
  readonly kind: "error"
  /** See `KrpcErrorCode`. */
  readonly code: number
  /** UTF-8 decoded; not sanitised (it comes from the network: escape it before showing it). */
  readonly message: string
}

export type KrpcMessage = KrpcQuery | KrpcResponse | KrpcErrorMessage

// ---------------------------------------------------------------------------------------------------------------
// Encoding

const requireId = (name: string, id: Uint8Array): Uint8Array => {
  if (!isNodeId(id)) throw new RangeError(`KRPC: ${name} must be 20 bytes, got ${id.length}`)
  return id
}

const queryArguments = (query: KrpcQuery) => {
  const id = requireId("id", query.id)
  switch (query.method) {
    case "ping":
      return { id }
    case "find_node":
      return { id, target: requireId("target", query.target), want: query.want }
    case "get_peers":
      return { id, info_hash: requireId("info_hash", query.infoHash), want: query.want }
    case "announce_peer":
      if (!Number.isInteger(query.port) || query.port < 0 || query.port > 0xffff) {
        throw new RangeError(`KRPC: port ${query.port} is out of range`)
      }
      return {
        id,
        implied_port: query.impliedPort === true ? 1 : undefined,
        info_hash: requireId("info_hash", query.infoHash),
        port: query.port,
        token: query.token
      }
  }
}

const compactValues = (values: ReadonlyArray<PeerAddress>): Array<Uint8Array> =>
  values.map((peer) => {
    const compact = encodeCompactPeer(peer)
    if (compact === undefined) throw new RangeError(`KRPC: peer ${peer.host}:${peer.port} has no compact form`)
    return compact
  })

/**
 * A message as bencode, keys in canonical order. Absent optional fields are left out; `readOnly` and `impliedPort`
 * are written as 1 only when true. Throws RangeError for what cannot be encoded: an id, target or info-hash that is
 * not 20 bytes, a port out of range, a node of the wrong family for its key, a peer whose host is not an IP literal.
 * The caller keeps what it sends within BEP 32's 1024 bytes (8 nodes and up to ~90 IPv4 values fit).
 */
export const encodeKrpc = (message: KrpcMessage): Uint8Array => {
  const envelope = { t: message.transactionId, v: message.version }
  switch (message.kind) {
    case "query":
      return encode({
        ...envelope,
        y: "q",
        q: message.method,
        a: queryArguments(message),
        ro: message.readOnly === true ? 1 : undefined
      })
    case "response": {
      const ip = message.ip === undefined ? undefined : encodeCompactPeer(message.ip)
      if (message.ip !== undefined && ip === undefined) throw new RangeError("KRPC: ip has no compact form")
      return encode({
        ...envelope,
        y: "r",
        ip,
        r: {
          id: requireId("id", message.id),
          nodes: message.nodes && encodeCompactNodes(message.nodes, "ipv4"),
          nodes6: message.nodes6 && encodeCompactNodes(message.nodes6, "ipv6"),
          token: message.token,
          values: message.values && compactValues(message.values)
        }
      })
    }
    case "error":
      return encode({ ...envelope, y: "e", e: [message.code, message.message] })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/** Deep enough for any KRPC message (3 levels) and for extension keys we skip over. */
const MAX_DEPTH = 16

/** Thrown inside the decoder only; `decodeKrpc` turns it into a `KrpcDecodeError`. */
class Failure {
  constructor(readonly reason: KrpcDecodeErrorReason, readonly detail: string) {}
}

const fail = (reason: KrpcDecodeErrorReason, detail: string): never => {
  throw new Failure(reason, detail)
}

/** A key or method name from the packet, safe to put in a message. */
const printable = (bytes: Uint8Array): string => {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")
  const shown = text.length > 32 ? `${text.slice(0, 32)}…` : text
  return shown.replace(/[^\x20-\x7e…]/g, "?")
}

/** Typed access to one dictionary's keys; `where` names it in error details. */
const reader = (dict: BDict, where: string) => {
  const required = (key: string): BValue => dict.get(key) ?? fail("MissingKey", `${where} has no "${key}"`)
  const wrong = (key: string, type: string): never => fail("WrongType", `${where}: "${key}" is not ${type}`)
  const asBytes = (key: string, value: BValue): Uint8Array => (isBytes(value) ? value : wrong(key, "a byte string"))
  const asInteger = (key: string, value: BValue): number => (isInteger(value) ? value : wrong(key, "an integer"))
  const optional = <A>(key: string, as: (key: string, value: BValue) => A): A | undefined => {
    const value = dict.get(key)
    return value === undefined ? undefined : as(key, value)
  }
  return {
    bytes: (key: string): Uint8Array => asBytes(key, required(key)),
    dict: (key: string): BDict => {
      const value = required(key)
      return isDict(value) ? value : wrong(key, "a dictionary")
    },
    list: (key: string) => optional(key, (k, value) => (isList(value) ? value : wrong(k, "a list"))),
    optionalBytes: (key: string) => optional(key, asBytes),
    optionalInteger: (key: string) => optional(key, asInteger),
    /** A 20-byte id, target or info-hash, copied out of the packet. */
    id: (key: string): NodeId => {
      const value = asBytes(key, required(key))
      if (!isNodeId(value)) fail("BadLength", `${where}: "${key}" is ${value.length} bytes, not 20`)
      return Uint8Array.from(value)
    }
  }
}
type Reader = ReturnType<typeof reader>

/** BEP 32: a list of strings, of which "n4" and "n6" mean something and the rest are ignored. */
const readWant = (args: Reader): { readonly want?: ReadonlyArray<Want> } => {
  const list = args.list("want")
  if (list === undefined) return {}
  const want = list.filter(isBytes).map((item) => printable(item)).filter((item): item is Want =>
    item === "n4" || item === "n6"
  )
  return { want }
}

const readQuery = (root: Reader, envelope: Envelope): KrpcQuery => {
  const name = root.bytes("q")
  const method = printable(name)
  if (method !== "ping" && method !== "find_node" && method !== "get_peers" && method !== "announce_peer") {
    return fail("UnknownMethod", `unknown method "${method}"`)
  }
  const args = reader(root.dict("a"), `${method} arguments`)
  const ro = root.optionalInteger("ro")
  const base = { ...envelope, kind: "query" as const, id: args.id("id"), ...(ro ? { readOnly: true } : {}) }
  switch (method) {
    case "ping":
      return { ...base, method }
    case "find_node":
      return { ...base, method, target: args.id("target"), ...readWant(args) }
    case "get_peers":
      return { ...base, method, infoHash: args.id("info_hash"), ...readWant(args) }
    case "announce_peer": {
      const infoHash = args.id("info_hash")
      const impliedPort = (args.optionalInteger("implied_port") ?? 0) !== 0
      const port = args.optionalInteger("port")
      if (port === undefined && !impliedPort) fail("MissingKey", `${method} arguments have no "port"`)
      if (port !== undefined && (port < 0 || port > 0xffff || (port === 0 && !impliedPort))) {
        fail("BadValue", `${method}: port ${port} is out of range`)
      }
      const token = Uint8Array.from(args.bytes("token"))
      return { ...base, method, infoHash, port: port ?? 0, token, ...(impliedPort ? { impliedPort } : {}) }
    }
  }
}

/** `values`: compact peers of 6 or 18 bytes; entries of any other length or type, and port 0, are skipped. */
const readValues = (list: ReadonlyArray<BValue>): Array<PeerAddress> => {
  const peers: Array<PeerAddress> = []
  for (const entry of list) {
    if (peers.length >= MAX_VALUES) break
    const peer = isBytes(entry) ? decodeCompactPeer(entry) : undefined
    if (peer !== undefined && peer.port !== 0) peers.push(peer)
  }
  return peers
}

const readResponse = (root: Reader, rootDict: BDict, envelope: Envelope): KrpcResponse => {
  const values = reader(root.dict("r"), "response")
  const nodes = values.optionalBytes("nodes")
  const nodes6 = values.optionalBytes("nodes6")
  const peers = values.list("values")
  const token = values.optionalBytes("token")
  const ipBytes = rootDict.get("ip")
  const ip = isBytes(ipBytes) ? decodeCompactPeer(ipBytes) : undefined
  return {
    ...envelope,
    kind: "response",
    id: values.id("id"),
    ...(nodes === undefined ? {} : { nodes: decodeCompactNodes(nodes, "ipv4") }),
    ...(nodes6 === undefined ? {} : { nodes6: decodeCompactNodes(nodes6, "ipv6") }),
    ...(peers === undefined ? {} : { values: readValues(peers) }),
    ...(token === undefined ? {} : { token: Uint8Array.from(token) }),
    ...(ip === undefined ? {} : { ip })
  }
}

const readError = (root: Reader, envelope: Envelope): KrpcErrorMessage => {
  const list = root.list("e") ?? fail("MissingKey", `error has no "e"`)
  const [code, text] = list
  if (code === undefined) return fail("MissingKey", "error list has no code")
  if (!isInteger(code)) return fail("WrongType", "error code is not an integer")
  if (text !== undefined && !isBytes(text)) return fail("WrongType", "error message is not a byte string")
  const message = text === undefined ? "" : new TextDecoder().decode(text)
  return { ...envelope, kind: "error", code, message }
}

const TYPES = { q: "query", r: "response", e: "error" } as const

/**
 * Decodes one datagram. Never throws: anything that is not a well-formed KRPC message gives a `KrpcDecodeError`
 * (its reasons are listed with the type). What is lenient, and why:
 * - a `nodes`/`nodes6` string that is not a whole number of entries keeps its whole entries (see
 *   `decodeCompactNodes`); `values` entries that are not 6 or 18 bytes are skipped; past `MAX_VALUES`, ignored;
 * - a malformed BEP 42 `ip` is ignored, as are `want` strings other than "n4"/"n6" and keys nobody defined;
 * - dictionary keys out of order are accepted (as from any bencode peer); duplicates are not.
 * Everything else is strict: a required key missing, a key of the wrong type, an id not 20 bytes. Nothing in the
 * result refers to `bytes`.
 */
export const decodeKrpc = (bytes: Uint8Array): KrpcMessage | KrpcDecodeError => {
  if (bytes.length > MAX_KRPC_PACKET) {
    return new KrpcDecodeError({ reason: "TooLarge", detail: `${bytes.length} bytes, over ${MAX_KRPC_PACKET}` })
  }
  const decoded = decode(bytes, { maxDepth: MAX_DEPTH })
  if (Either.isLeft(decoded)) return new KrpcDecodeError({ reason: "Bencode", detail: decoded.left.message })
  const dict = decoded.right
  if (!isDict(dict)) return new KrpcDecodeError({ reason: "NotADictionary", detail: "not a dictionary" })
  // Read before anything can fail, so that the error can carry them.
  const t = dict.get("t")
  const y = dict.get("y")
  const transactionId = isBytes(t) ? Uint8Array.from(t) : undefined
  const type = isBytes(y) && y.length === 1 ? TYPES[String.fromCharCode(y[0]!) as keyof typeof TYPES] : undefined
  try {
    const root = reader(dict, "message")
    root.bytes("t")
    const typeName = printable(root.bytes("y"))
    if (type === undefined) fail("BadValue", `unknown message type "${typeName}"`)
    const version = root.optionalBytes("v")
    const envelope: Envelope = {
      transactionId: transactionId!,
      ...(version === undefined ? {} : { version: Uint8Array.from(version) })
    }
    switch (type!) {
      case "query":
        return readQuery(root, envelope)
      case "response":
        return readResponse(root, dict, envelope)
      case "error":
        return readError(root, envelope)
    }
  } catch (e) {
    if (!(e instanceof Failure)) throw e
    return new KrpcDecodeError({
      reason: e.reason,
      detail: e.detail,
      ...(transactionId === undefined ? {} : { transactionId }),
      ...(type === undefined ? {} : { messageType: type })
    })
  }
}

/**
 * Whether `response` can answer a `method` query: a `find_node` answer must carry `nodes` or `nodes6`, a
 * `get_peers` answer `values`, `nodes` or `nodes6` (its `token` stays optional: without one we can still use what
 * it found, just not announce to it); `ping` and `announce_peer` answers need only the `id` every response has.
 * `undefined` when it fits, else a `MissingKey` error.
 */
export const checkResponse = (method: QueryMethod, response: KrpcResponse): KrpcDecodeError | undefined => {
  const hasNodes = response.nodes !== undefined || response.nodes6 !== undefined
  const missing = method === "find_node"
    ? (hasNodes ? undefined : `find_node response has no "nodes" or "nodes6"`)
    : method === "get_peers" && !hasNodes && response.values === undefined
    ? `get_peers response has no "values", "nodes" or "nodes6"`
    : undefined
  if (missing === undefined) return undefined
  return new KrpcDecodeError({
    reason: "MissingKey",
    detail: missing,
    transactionId: response.transactionId,
    messageType: "response"
  })
}
