import { PROTOCOL } from "../../wire/handshake.js"

const HEADER = Uint8Array.from([PROTOCOL.length, ...Buffer.from(PROTOCOL, "latin1")])

/**
 * Tells an accepted connection's plaintext BitTorrent handshake (`19 "BitTorrent protocol"`) from anything else,
 * which is taken for an MSE handshake (Ya, 96 random-looking bytes). `true` or `false` as soon as the first bytes
 * say; `undefined` while all of them (fewer than 20) still match the plaintext header.
 */
export const looksLikePlaintextHandshake = (firstBytes: Uint8Array): boolean | undefined => {
  const n = Math.min(firstBytes.length, HEADER.length)
  for (let i = 0; i < n; i++) {
    if (firstBytes[i] !== HEADER[i]) return false
  }
  return n === HEADER.length ? true : undefined
}
