/**
 * Diffie-Hellman over the MSE group: the 768-bit prime P given by the Message Stream Encryption spec, generator 2,
 * private keys of 160 bits (the spec's advice: at least 128, nothing gained past 180). Public keys and the shared
 * secret travel as 96 bytes, big-endian, zero-padded on the left.
 */
import { createDiffieHellman, type DiffieHellman, randomBytes } from "node:crypto"

export const PRIME = Buffer.from(
  "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B" +
    "302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563",
  "hex"
)
export const GENERATOR = 2
/** Bytes of a public key or shared secret: P's size. */
export const KEY_LENGTH = 96
/** Bytes of a private key: 160 bits. */
export const PRIVATE_KEY_LENGTH = 20

export interface KeyPair {
  readonly privateKey: Uint8Array
  /** G^privateKey mod P, KEY_LENGTH bytes. */
  readonly publicKey: Uint8Array
}

const P_MINUS_1 = BigInt(`0x${PRIME.toString("hex")}`) - 1n

/**
 * One node:crypto DiffieHellman for the group, made on first use and reused: making one checks that P is a safe
 * prime, which costs ~16 ms here, while an operation on it costs ~0.04 ms (BigInt modpow: ~0.2 ms). Each use sets
 * the private key it works with first, and all of it is synchronous, so nothing of one use reaches the next.
 */
let engine: DiffieHellman | undefined
const group = (): DiffieHellman => engine ??= createDiffieHellman(PRIME, GENERATOR)

const leftPad = (bytes: Uint8Array): Uint8Array => {
  if (bytes.length === KEY_LENGTH) return new Uint8Array(bytes)
  const out = new Uint8Array(KEY_LENGTH)
  out.set(bytes.subarray(Math.max(0, bytes.length - KEY_LENGTH)), Math.max(0, KEY_LENGTH - bytes.length))
  return out
}

/** The key pair of a given private key (tests use fixed ones). */
export const keyPairFrom = (privateKey: Uint8Array): KeyPair => {
  const dh = group()
  dh.setPrivateKey(privateKey)
  // With a private key set, generateKeys derives the public key from it (as documented for setPrivateKey).
  dh.generateKeys()
  return { privateKey: Uint8Array.from(privateKey), publicKey: leftPad(dh.getPublicKey()) }
}

/** A fresh key pair: a random 160-bit private key and its public key. */
export const generateKeyPair = (): KeyPair => {
  let privateKey = randomBytes(PRIVATE_KEY_LENGTH)
  while (privateKey.every((byte) => byte === 0)) privateKey = randomBytes(PRIVATE_KEY_LENGTH)
  return keyPairFrom(privateKey)
}

/** Whether a peer's public key is usable: KEY_LENGTH bytes, not 0, 1 or P-1 and above (which give away S). */
export const checkPublicKey = (publicKey: Uint8Array): string | undefined => {
  if (publicKey.length !== KEY_LENGTH) return `a public key of ${publicKey.length} bytes (expected ${KEY_LENGTH})`
  const y = BigInt(`0x${Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString("hex")}`)
  return y > 1n && y < P_MINUS_1 ? undefined : "a public key out of range (0, 1, or P-1 and above)"
}

/** S = otherPublic^privateKey mod P, KEY_LENGTH bytes; or what is wrong with the other side's key. */
export const sharedSecret = (privateKey: Uint8Array, otherPublic: Uint8Array): Uint8Array | string => {
  const invalid = checkPublicKey(otherPublic)
  if (invalid !== undefined) return invalid
  const dh = group()
  try {
    dh.setPrivateKey(privateKey)
    return leftPad(dh.computeSecret(otherPublic))
  } catch (error) {
    return `the key exchange failed: ${error instanceof Error ? error.message : String(error)}`
  }
}
