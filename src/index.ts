/**
 * `bt` as a library: the protocol stages as Effect services, and the pure codecs under them.
 *
 * Layers leave platform needs open: provide Node's (or your own) at your program's edge. For a download that is a
 * `Transport` (`NodeTransport.layer` for TCP; `UtpTransport` and `DualTransport` for uTP beside it), `Storage`
 * (`Storage.layer` on node:fs), a `Verifier`, and a `Tracker` that itself needs an `HttpClient` (from
 * `@effect/platform-node/NodeHttpClient`) and a `Datagram` (`NodeDatagram.layer`).
 * Optional: a `ResumeStore` (else every start rechecks the data), a `Dht` (`Dht.layerConfig`, on a `Datagram`;
 * else torrents find peers through trackers, PEX and the addresses given) and a `WebSeed` (on an `HttpClient`; else
 * web seeds are not used). `examples/download.ts` shows the graph.
 */
export * as Bencode from "./bencode/index.js"
/** The Client: many torrents in one process, kept across restarts, queued and rate-limited (see `examples/client.ts`). */
export * as Client from "./client/index.js"
export * as Datagram from "./net/Datagram.js"
/** The DHT node service (BEP 5); `DhtProtocol` holds its pure parts (KRPC, routing table, lookups). */
export * as Dht from "./dht/Dht.js"
export * as DhtDual from "./dht/dual.js"
export * as DhtProtocol from "./dht/index.js"
export * as MemoryDatagram from "./net/MemoryDatagram.js"
export * as NodeDatagram from "./net/NodeDatagram.js"
/**
 * Port mapping (PCP, NAT-PMP, UPnP IGD) as the `PortMapper` service; it needs a `Gateway` (`NodeGateway.layer` on
 * Linux), a `Datagram` and an `HttpClient`.
 */
export * as PortMap from "./net/portmap/index.js"
export * as NodeGateway from "./net/portmap/NodeGateway.js"
/** Local Service Discovery (BEP 14) as the `Lsd` service, on a `Datagram`. */
export * as Lsd from "./net/lsd/index.js"
export * as Metainfo from "./metainfo/index.js"
export * as MemoryTransport from "./peer/transport/MemoryTransport.js"
/** Message Stream Encryption (MSE/PE), pure: key exchange, RC4, both handshake machines. */
export * as Mse from "./peer/mse/index.js"
export * as NodeTransport from "./peer/transport/NodeTransport.js"
/**
 * One peer connection without a session, as the `PeerWire` service over a `Transport`: dial or accept, the
 * handshakes (plaintext or MSE, BEP 10), a typed `send` and a `Stream` of messages (see `examples/metadata.ts`).
 */
export * as PeerWire from "./peer/PeerWire.js"
/**
 * uTP (BEP 29) as a Transport; `DualTransport` puts it beside TCP (TCP first); `SharedDatagram` lets it share the
 * DHT's UDP port.
 */
export * as UtpTransport from "./peer/utp/UtpTransport.js"
export * as DualTransport from "./peer/transport/Dual.js"
export * as SharedDatagram from "./net/SharedDatagram.js"
export * as Transport from "./peer/transport/Transport.js"
export * as Piece from "./piece/index.js"
/** Transmission's RPC over a Client, as an HttpRouter to mount on any server; and a client of such servers. */
export * as Rpc from "./rpc/index.js"
export * as RpcRemote from "./rpc/remote.js"
export * as Session from "./session/index.js"
export * as Storage from "./storage/index.js"
export * as FileStream from "./stream/index.js"
export * as Tracker from "./tracker/index.js"
export * as Verifier from "./verifier/index.js"
/** Web seeds (BEP 19) as the `WebSeed` service, on an `HttpClient`; optional: without it `url-list` is not used. */
export * as WebSeed from "./webseed/index.js"
export * as Wire from "./wire/index.js"
