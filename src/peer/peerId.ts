import { randomBytes } from "node:crypto"

/** Our client's two-letter code and version in the Azureus-style peer id (BEP 20): `-BT0010-`. */
export const PEER_ID_PREFIX = "-BT0010-"

/** Our client's name and version as BEP 10's `v` tells it. */
export const CLIENT_VERSION = "bt 0.1.0"

/** A fresh 20-byte peer id: the client prefix and 12 random bytes. */
export const makePeerId = (): Uint8Array => Buffer.concat([Buffer.from(PEER_ID_PREFIX, "latin1"), randomBytes(12)])

/** A random 32-bit announce `key`, fixed for the life of a client. */
export const makeAnnounceKey = (): number => randomBytes(4).readUInt32BE(0)
