import type { Connection } from "./transport/Transport.js"
import { copyBytes, decodeHandshake, HANDSHAKE_LENGTH, type Handshake } from "../wire/index.js"

/**
 * Reads the 68-byte handshake that opens an accepted connection, before we know which torrent it is for.
 * Calls `onHandshake` with it and whatever bytes followed in the same chunk, or `onFailure` with a reason
 * (a wrong protocol string, or the connection closing first). Plain code on the connection's handlers. Reading
 * pauses after the handshake; the next `start` on the connection resumes it.
 */
export const readHandshake = (
  connection: Connection,
  onHandshake: (handshake: Handshake, rest: Uint8Array) => void,
  onFailure: (detail: string) => void
): void => {
  const buffer = new Uint8Array(HANDSHAKE_LENGTH)
  let filled = 0
  let done = false
  connection.start({
    onData: (chunk) => {
      if (done) return
      const take = Math.min(HANDSHAKE_LENGTH - filled, chunk.length)
      buffer.set(chunk.subarray(0, take), filled)
      filled += take
      if (filled < HANDSHAKE_LENGTH) return
      done = true
      // Hold back what follows (a bitfield, say) until the torrent's link takes the connection over: its `start`
      // resumes reading. Otherwise chunks arriving in between would reach these handlers and be lost.
      connection.pause()
      const handshake = decodeHandshake(buffer)
      if (typeof handshake === "string") onFailure(handshake)
      // Copied: the chunk is the transport's again once this returns, and the torrent takes over later.
      else onHandshake(handshake, copyBytes(chunk, take))
    },
    onDrain: () => {},
    onClose: () => {
      if (done) return
      done = true
      onFailure("closed before its handshake")
    }
  })
}
