/**
 * `bt` as a library: the protocol stages as Effect services, and the pure codecs under them.
 *
 * Layers here leave platform needs open (`FileSystem`, later `HttpClient` and the peer transport): provide Node's
 * from `@effect/platform-node`, or your own, at your program's edge.
 */
export * as Bencode from "./bencode/index.js"
export * as Metainfo from "./metainfo/index.js"
