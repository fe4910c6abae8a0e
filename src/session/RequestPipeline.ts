import {
  type Bitfield,
  type BlockRequest,
  MAX_REQUEST_DEPTH,
  MIN_REQUEST_DEPTH,
  type PiecePicker,
  pipelineDepth,
  requestDepth
} from "../piece/index.js"
import { encodeRequest } from "../wire/index.js"

/** Bytes of one REQUEST message. */
const REQUEST_BYTES = 17

/**
 * Our request pipeline with one peer, in plain code: how deep it runs (slow start until the rate is measured, one
 * more per block delivered so it doubles each round trip as TCP's does, then the depth the rate calls for; always
 * within the peer's BEP 10 `reqq`, see `pipelineDepth`) and the requests that top it up, from the piece picker.
 * Keeps the deepest it went, for reports and tests.
 */
export class RequestPipeline {
  /** Depth before the rate is known, so a fast peer is not held to MIN_REQUEST_DEPTH until the first rate tick. */
  private slowStart = MIN_REQUEST_DEPTH
  /** The most requests outstanding at once so far. */
  peak = 0

  /** Requests to keep outstanding at `rate` (bytes per second) with a peer that queues `reqq`, if it said. */
  depth(rate: number, reqq: number | undefined): number {
    return pipelineDepth(rate, this.slowStart, reqq)
  }

  /** A block was delivered. */
  delivered(): void {
    if (this.slowStart < MAX_REQUEST_DEPTH) this.slowStart++
  }

  /**
   * The requests that top `peer`'s pipeline up, among the pieces of `bits`, as one buffer of REQUEST messages (one
   * write); `undefined` when it is full or there is nothing to ask. `audit` sees each batch before it is encoded.
   */
  next<Peer>(
    picker: PiecePicker<Peer>,
    peer: Peer,
    bits: Bitfield,
    rate: number,
    reqq: number | undefined,
    now: number,
    audit?: (requests: ReadonlyArray<BlockRequest>) => void
  ): Uint8Array | undefined {
    const outstanding = picker.outstanding(peer)
    const room = this.depth(rate, reqq) - outstanding
    if (room <= 0) return undefined
    const requests = picker.nextRequests(peer, bits, room, now)
    if (requests.length === 0) return undefined
    audit?.(requests)
    if (outstanding + requests.length > this.peak) this.peak = outstanding + requests.length
    const out = Buffer.allocUnsafe(REQUEST_BYTES * requests.length)
    requests.forEach((request, i) => out.set(encodeRequest(request.index, request.begin, request.length), i * REQUEST_BYTES))
    return out
  }

  /** The rate was measured (once a tick): from now on it governs, slow start only covering the first ticks. */
  measured(rate: number): void {
    this.slowStart = Math.min(this.slowStart, 2 * requestDepth(rate))
  }
}
