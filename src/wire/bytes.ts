/**
 * A copy of `bytes[start, end)` in a new array. Not `bytes.slice`: on a Node Buffer (what sockets deliver) `slice`
 * is a view, like `subarray`, and a view of a received chunk is overwritten when the transport reuses its memory.
 */
export const copyBytes = (bytes: Uint8Array, start?: number, end?: number): Uint8Array =>
  new Uint8Array(bytes.subarray(start, end))
