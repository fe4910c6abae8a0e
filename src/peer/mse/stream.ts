import type { Connection, ConnectionHandlers } from "../transport/Transport.js"
import type { PayloadStreams } from "./protocol.js"

/**
 * A connection seen through what its first bytes settled: `pending` (bytes read already, decrypted) delivered
 * first, then every chunk decrypted once, in order, and every write encrypted. With `streams` undefined the bytes
 * pass as they are (a plaintext connection whose first bytes were read to tell which kind it is).
 */
export const continuedConnection = (
  inner: Connection,
  pending: Uint8Array,
  streams?: PayloadStreams
): Connection => {
  let unread: Uint8Array | undefined = pending.length > 0 ? pending : undefined
  const encrypted = streams !== undefined && streams.cipher === "rc4"
  return {
    remote: inner.remote,
    ...(inner.transport === undefined ? {} : { transport: inner.transport }),
    ...(inner.counters === undefined ? {} : { counters: inner.counters }),
    encrypted: encrypted || inner.encrypted === true,
    write: encrypted
      ? (bytes, sent) => {
        // Encrypting copies: the plaintext is free as soon as it is encrypted.
        const ok = inner.write(streams.encrypt(bytes))
        sent?.()
        return ok
      }
      : inner.write,
    start: (handlers: ConnectionHandlers) => {
      inner.start(
        encrypted
          ? { ...handlers, onData: (chunk) => handlers.onData(streams.decrypt(chunk)) }
          : handlers
      )
      // Before any new chunk: those arrive from the event loop, after this returns.
      if (unread !== undefined) {
        const bytes = unread
        unread = undefined
        handlers.onData(bytes)
      }
    },
    cork: inner.cork,
    uncork: inner.uncork,
    pause: inner.pause,
    resume: inner.resume,
    destroy: inner.destroy
  }
}
