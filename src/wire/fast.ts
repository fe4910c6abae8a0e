import { createHash } from "node:crypto"
import { isIPv4 } from "node:net"

/** How many pieces we let a choked peer fetch (BEP 6 leaves it to the implementation; its examples use 7 to 10). */
export const ALLOWED_FAST_COUNT = 10

/**
 * BEP 6's canonical allowed-fast set for a peer at IPv4 address `ip`: `count` distinct piece indexes derived from
 * the peer's /24 network and the info-hash, so every client computes the same set for the same peer. The BEP
 * defines it for IPv4 only; other addresses get none.
 */
export const allowedFastSet = (ip: string, infoHash: Uint8Array, pieceCount: number, count: number): Array<number> => {
  const set: Array<number> = []
  if (!isIPv4(ip) || pieceCount === 0) return set
  const want = Math.min(count, pieceCount)
  const octets = ip.split(".").map(Number)
  let x: Uint8Array = Buffer.concat([Uint8Array.of(octets[0]!, octets[1]!, octets[2]!, 0), infoHash])
  while (set.length < want) {
    x = createHash("sha1").update(x).digest()
    const view = Buffer.from(x.buffer, x.byteOffset, x.byteLength)
    for (let i = 0; i < 5 && set.length < want; i++) {
      const index = view.readUInt32BE(i * 4) % pieceCount
      if (!set.includes(index)) set.push(index)
    }
  }
  return set
}
