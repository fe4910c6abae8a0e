import { BLOCK_SIZE } from "./geometry.js"

/**
 * Requests kept outstanding with a peer whose rate we do not know yet, or who is slow: 16 blocks = 256 KiB in
 * flight, enough for ~2.5 MB/s over a 100 ms round trip, so a new peer can ramp up before its rate is measured.
 */
export const MIN_REQUEST_DEPTH = 16

/**
 * The most we keep outstanding with one peer: 256 blocks = 4 MiB in flight, ~40 MB/s over a 100 ms round trip and
 * far more on a LAN. Peers limit their queue (libtorrent used to drop requests beyond 250; BEP 10 `reqq` says how
 * many a peer accepts, often 250–500), so going higher mostly buys rejected requests. Callers also take the min
 * with the peer's `reqq` when it sends one.
 */
export const MAX_REQUEST_DEPTH = 256

/**
 * Seconds of transfer to keep queued at the peer. The queue has to cover the round trip plus the time the peer
 * takes to read from disk and get to our requests behind other peers'; one second is thin for a busy peer on a
 * long path, and much more than two only delays re-assignment when the peer stalls. (libtorrent's default is 3 s,
 * bounded in the same way by a queue limit.)
 */
export const REQUEST_QUEUE_SECONDS = 2

/**
 * Adaptive pipeline depth: enough outstanding blocks to cover REQUEST_QUEUE_SECONDS at the peer's current download
 * rate (bytes per second), clamped to [MIN_REQUEST_DEPTH, MAX_REQUEST_DEPTH]. A rate that is not a finite
 * non-negative number counts as unknown (the minimum).
 */
export const requestDepth = (bytesPerSecond: number): number => {
  if (!(bytesPerSecond >= 0 && Number.isFinite(bytesPerSecond))) return MIN_REQUEST_DEPTH
  const depth = Math.ceil((bytesPerSecond * REQUEST_QUEUE_SECONDS) / BLOCK_SIZE)
  return Math.min(MAX_REQUEST_DEPTH, Math.max(MIN_REQUEST_DEPTH, depth))
}

/**
 * Our pipeline depth with one peer: what the link needs (the rate's `requestDepth`, or the slow-start depth while
 * that is larger), but never more than the peer said it queues (BEP 10 `reqq`, when it sent one: beyond it a peer
 * without the Fast extension drops requests silently, and they wait out the request timeout).
 */
export const pipelineDepth = (bytesPerSecond: number, slowStart: number, reqq: number | undefined): number =>
  Math.max(1, Math.min(Math.max(requestDepth(bytesPerSecond), slowStart), reqq ?? MAX_REQUEST_DEPTH))
