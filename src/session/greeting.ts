/**
 * How a link opens, both ways: our handshake, and once the peer's is in, what we have, the pieces it may ask for
 * while choked (BEP 6), our DHT port (BEP 5) and the extension handshake (BEP 10). Once per connection.
 */

import {
  encodeAllowedFast,
  encodeBitfield,
  encodeHandshake,
  encodePort,
  type Handshake,
  HAVE_ALL,
  HAVE_NONE,
  ourReserved,
  supports
} from "../wire/index.js"
import type { PeerLink } from "./PeerLink.js"
import type { Swarm } from "./Swarm.js"

/** Our handshake, with `infoHash` (the torrent's wire hash unless the peer came by a hybrid's other). */
export const ourHandshake = (swarm: Swarm, infoHash = swarm.infoHash): Uint8Array =>
  encodeHandshake({
    reserved: ourReserved(swarm.dhtPort !== undefined, swarm.hashes !== undefined),
    infoHash,
    peerId: swarm.peerId
  })

/**
 * The info-hash we answer an accepted handshake with. A hybrid: answered by the hash the peer came by, or by the v2
 * one when it came by the v1 hash with the v2 bit (BEP 52's upgrade, as libtorrent answers us), so both sides then
 * speak v2 and the hash messages.
 */
export const answerHash = (swarm: Swarm, handshake: Handshake): Uint8Array => {
  const v2Hash = swarm.v2Hash
  const upgrade = v2Hash !== undefined && supports(handshake.reserved, "v2")
  return upgrade ? v2Hash : handshake.infoHash
}

/**
 * Whether the peer speaks BEP 52's hash messages with us: the torrent has v2 data and the peer set the v2 bit or
 * came by the v2 info-hash. A peer that came by the v2 info-hash speaks v2 whatever its bits say: libtorrent 2.0
 * leaves the v2 bit clear on a v2-only torrent (it sets it on a hybrid reached by the v1 hash).
 */
export const speaksV2 = (swarm: Swarm, handshake: Handshake): boolean =>
  swarm.hashes !== undefined && (supports(handshake.reserved, "v2") || swarm.isV2Hash(handshake.infoHash))

/** What we send once the peer's handshake is in (`link.fast` already set from it). */
export const greet = (link: PeerLink, swarm: Swarm, handshake: Handshake): void => {
  sendPieces(link, swarm)
  const dhtPort = swarm.dhtPort
  if (dhtPort !== undefined && supports(handshake.reserved, "dht")) link.send(encodePort(dhtPort))
  if (supports(handshake.reserved, "extensions")) link.extensions.sendHandshake()
}

/**
 * What we have, first thing after the handshake: a bitfield (none when empty, without BEP 6), or `have all` /
 * `have none`; then, with BEP 6, the pieces of the peer's allowed-fast set that we can serve while it is choked.
 */
const sendPieces = (link: PeerLink, swarm: Swarm): void => {
  const ours = swarm.picker.bitfield()
  if (link.fast && ours.isComplete()) link.send(HAVE_ALL)
  else if (link.fast && ours.count === 0) link.send(HAVE_NONE)
  else if (ours.count > 0) link.send(encodeBitfield(ours.toBytes()))
  if (!link.fast) return
  for (const index of link.fastSets.grant(link.connection.remote.host, swarm.infoHash, ours)) {
    link.send(encodeAllowedFast(index))
  }
}
