/**
 * Announce tokens (BEP 5): a node hands a token to each `get_peers` querier and accepts an `announce_peer` only
 * with a token it gave to that same IP recently. Like the BitTorrent implementation the BEP describes, a token is
 * the SHA-1 of the IP and a secret that changes every 5 minutes, and the previous secret is still honoured, so a
 * token stays valid for 5 to 10 minutes. Time comes in as numbers (ms).
 *
 * The digest is truncated to 8 bytes: 64 bits cannot be guessed within a secret's lifetime, and short tokens keep
 * responses small (the BEP asks for "a short binary string"). The IP is hashed in its compact form (4 or 16 bytes),
 * the port left out (a peer may query and announce from different ports).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { encodeIp } from "../wire/compactPeer.js"
import type { RandomBytes } from "./NodeId.js"

export const TOKEN_LENGTH = 8
export const TOKEN_ROTATION_MS = 5 * 60_000
const SECRET_LENGTH = 16

export interface TokenOptions {
  /** How often the secret changes. Default 5 minutes. */
  readonly rotationMs?: number
  /** For secrets. Default: node:crypto. */
  readonly random?: RandomBytes
}

export class Tokens {
  private readonly rotationMs: number
  private readonly random: RandomBytes
  private current: Uint8Array
  private previous: Uint8Array
  /** When `current` became current. */
  private rotatedAt: number

  constructor(now: number, options: TokenOptions = {}) {
    this.rotationMs = options.rotationMs ?? TOKEN_ROTATION_MS
    this.random = options.random ?? ((size) => new Uint8Array(randomBytes(size)))
    this.current = this.secret()
    // Nothing was issued before we started: the previous secret matches no token anyone holds.
    this.previous = this.secret()
    this.rotatedAt = now
  }

  /** The token for `ip` (an IP literal, as a socket reports it). */
  issue(ip: string, now: number): Uint8Array {
    this.rotate(now)
    return token(ip, this.current)
  }

  /** Whether `token` was issued to `ip` under the current or the previous secret. */
  check(ip: string, candidate: Uint8Array, now: number): boolean {
    this.rotate(now)
    if (candidate.length !== TOKEN_LENGTH) return false
    return timingSafeEqual(candidate, token(ip, this.current)) || timingSafeEqual(candidate, token(ip, this.previous))
  }

  private secret(): Uint8Array {
    return Uint8Array.from(this.random(SECRET_LENGTH))
  }

  /** Catches up with `now`: after one period the secrets shift by one; after two or more both are new. */
  private rotate(now: number): void {
    const periods = Math.floor((now - this.rotatedAt) / this.rotationMs)
    if (periods <= 0) return
    this.previous = periods === 1 ? this.current : this.secret()
    this.current = this.secret()
    this.rotatedAt += periods * this.rotationMs
  }
}

const token = (ip: string, secret: Uint8Array): Uint8Array => {
  const address = encodeIp(ip) ?? Buffer.from(ip, "utf8")
  const digest = createHash("sha1").update(address).update(secret).digest()
  return Uint8Array.from(digest.subarray(0, TOKEN_LENGTH))
}
