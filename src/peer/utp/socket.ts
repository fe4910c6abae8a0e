/**
 * One uTP connection as a pure state machine (BEP 29): `receive(packet, now)`, `write(bytes, now)`, `close(now)` and
 * `tick(now)` each answer the packets to send and what happened (bytes delivered in order, connected, end of
 * stream, closed, reset). No sockets, no timers: the caller owns the clock (milliseconds) and the UDP socket. The
 * clock should be monotonic: a wall clock stepped forward by minutes would fire the idle limit of every connection.
 *
 * Sending: written bytes queue up and leave in packets of at most `payloadSize()` bytes while the bytes in flight stay
 * within min(cwnd, the peer's advertised window), one packet always allowed when nothing is in flight. Every sent
 * packet (SYN, DATA, FIN) keeps its sequence number until acknowledged, cumulatively or by selective ACK. A packet
 * is taken as lost on the third duplicate ACK (the oldest unacknowledged one) or when 3 packets after it are
 * selectively acknowledged (more on a path that reorders); it is resent, and the window halves once per window of
 * data, undone if the packet turns out to have been overtaken rather than lost. When nothing is acknowledged for an
 * RTO, every unacknowledged packet is resent and the window drops to one packet. While the peer's window is shut (0)
 * nothing new goes, but one packet, a probe, leaves per RTO; a window shut for ZERO_WINDOW_LIMIT_MS while we have
 * data for the peer ends the connection.
 *
 * Receiving: in-order payloads are delivered at once; packets ahead of a gap wait in a reorder buffer. The window we
 * advertise is RECEIVE_WINDOW less what waits there and less what the application says it holds unread
 * (`setUnread`); when it reopens, an ST_STATE says so. Every DATA or FIN is acknowledged, with a selective ACK while
 * there is a gap: at once, or with `delayedAcks` one ACK per DELAYED_ACK_PACKETS in-order packets or per burst
 * (`flushAck`).
 *
 * Liveness: an idle connection sends a keep-alive every KEEPALIVE_INTERVAL_MS; MAX_TIMEOUTS timeouts in a row (with
 * nothing new acknowledged between them: the peer's keep-alives do not count), or IDLE_TIMEOUT_MS without a packet
 * from the peer, end it (`timedOut`). Packets no honest peer sends (another connection id, an ACK of something never
 * sent) are dropped unanswered; what the peer can make us hold is bounded (the reorder buffer by RECEIVE_WINDOW and
 * MAX_OUTSTANDING, unread data by MAX_UNREAD, a shut window in time).
 */
import { INITIAL_WINDOW, Ledbat } from "./ledbat.js"
import type { Packet, PacketType } from "./packet.js"
import { encodeSack, sackedSeqs } from "./sack.js"
import { seqAdd, seqDiff, seqLess } from "./seq.js"

/** Largest payload we put in one packet. */
export const MAX_PAYLOAD = 1400
/** Smallest payload we cut data into, however small the window (see `payloadSize`). */
export const MIN_PAYLOAD = 150
/** Bytes the reorder buffer may hold: the window we advertise. */
export const RECEIVE_WINDOW = 1024 * 1024
/** How far ahead of a gap we buffer, and the most packets we keep unacknowledged. */
export const MAX_OUTSTANDING = 1000
/**
 * With delayed ACKs, in-order DATA packets acknowledged by one ACK at most; a burst read in one go usually ends
 * sooner (`flushAck`), as libtorrent acknowledges once per batch it reads. One ACK per two packets (TCP's rule) cost
 * ~12 % more CPU on a loopback download, in system calls: every ACK is a datagram.
 */
export const DELAYED_ACK_PACKETS = 16
/**
 * Packets sent at most by one call (pacing): a whole window at once would overflow the receiver's UDP buffer (a
 * peer's default holds a few hundred datagrams), losing most of the burst.
 */
export const MAX_BURST = 32
/** Timeouts in a row after which the connection is given up. */
export const MAX_TIMEOUTS = 8
/**
 * How long the peer may keep its window shut while we have data for it before we give the connection up. As long as
 * it answers our probes it is alive, but its reader has stopped, and what we hold for it (the queue, the packet in
 * flight) would be held forever. A minute is far past any pause for back-pressure (a disk write, a slow verifier).
 */
export const ZERO_WINDOW_LIMIT_MS = 60_000
/**
 * Bytes delivered and not yet consumed (as the application reports them with `setUnread`) past which in-order data
 * is dropped rather than delivered: twice what we ever offer, so only a sender that ignores our window reaches it.
 */
export const MAX_UNREAD = 2 * RECEIVE_WINDOW
/**
 * An established connection with nothing else to send sends an ST_STATE this often, as libutp does: it keeps NAT
 * bindings open (UDP mappings commonly expire after 30 s to a few minutes) and tells the peer we are alive.
 */
export const KEEPALIVE_INTERVAL_MS = 29_000
/**
 * Silence after which a connection is given up. A live peer is never this quiet: libutp and we send keep-alives every
 * 29 s, and BitTorrent peers send a peer-wire keep-alive at least every 2 minutes (libtorrent every minute). Packets
 * unacknowledged are caught sooner by the retransmission timeouts; this catches a peer that vanished while the
 * connection was idle, and a SYN answered and never followed up (a half-open connection, or a spoofed SYN).
 */
export const IDLE_TIMEOUT_MS = 2 * 60_000
const HEADER_BYTES = 20
/**
 * How many later packets must be acknowledged before an earlier one is taken as lost: 3 at first, as in BEP 29 and
 * TCP, plus one each time a loss proves to have been reordering (see `undoHalving`), up to this. Linux TCP adapts
 * its threshold the same way.
 */
const INITIAL_REORDER_THRESHOLD = 3
const MAX_REORDER_THRESHOLD = 16

export type UtpState = "synSent" | "synRecv" | "connected" | "closed" | "reset"

export type UtpEvent =
  | { readonly type: "connected" }
  | { readonly type: "data"; readonly bytes: Uint8Array }
  /** The peer's FIN and everything before it arrived: no more data will come. */
  | { readonly type: "eof" }
  /** Both directions finished: our FIN acknowledged and the peer's received. */
  | { readonly type: "closed" }
  | { readonly type: "reset" }
  | { readonly type: "timedOut" }

/** A connection's figures, for logs and tuning. Counts are since the connection began. */
export interface UtpStats {
  /** The smoothed round-trip time and its variation (0 before the first sample). */
  readonly rttMs: number
  readonly rttVarMs: number
  /** Bytes the congestion controller lets us have in flight. */
  readonly cwnd: number
  /** The receive window in the peer's last packet. */
  readonly peerWindow: number
  /** Every packet we sent, ACKs and keep-alives included. */
  readonly packetsSent: number
  /** Packets from the peer that passed the checks of `receive`. */
  readonly packetsReceived: number
  /** Packets sent again: after a loss or a timeout. */
  readonly retransmits: number
  /** Packets taken as lost (3 duplicate ACKs, or 3 later packets selectively acknowledged). */
  readonly lost: number
  /** Retransmission timeouts. */
  readonly timeouts: number
}

export interface UtpOutput {
  readonly packets: Array<Packet>
  readonly events: Array<UtpEvent>
}

interface Outgoing {
  readonly seq: number
  readonly type: PacketType
  readonly payload: Uint8Array
  sentAt: number
  transmissions: number
  acked: boolean
  /** Marked for sending again (lost, or timed out). */
  resend: boolean
  /** When it was last sent, in sending order: what selective ACKs of later packets are measured against. */
  sentOrder: number
}

export interface UtpSocketOptions {
  /** Our receive connection id (the initiator's random choice). */
  readonly connectionId: number
  /** The first sequence number we send (an acceptor's random choice; 1 for an initiator). */
  readonly seqNr?: number
  /**
   * Delay ACKs to one per DELAYED_ACK_PACKETS DATA packets or per burst (see `flushAck`). Default false: every DATA
   * is ACKed.
   */
  readonly delayedAcks?: boolean
}

export interface UtpAcceptOptions {
  /** The first sequence number we send: a random choice. */
  readonly seqNr: number
  /** As in UtpSocketOptions. */
  readonly delayedAcks?: boolean
}

const sizeOf = (packet: Outgoing) => HEADER_BYTES + packet.payload.length

/**
 * The round trip that a packet's timestamps measure, in milliseconds: the one-way delay of our last packet to reach
 * the peer (its timestamp_difference) plus that of this packet to us (our clock less its timestamp). The clocks'
 * offset cancels out, and how long the peer held the packet before sending it does not count. Undefined when the
 * peer has no delay sample yet (0) or the sum is negative (a peer's clock that went backwards).
 */
const wireRtt = (packet: Packet, now: number): number | undefined => {
  if (packet.timestampDifference === 0) return undefined
  const us = (((Math.floor(now * 1000) - packet.timestamp) >>> 0) + packet.timestampDifference) | 0
  return us < 0 ? undefined : us / 1000
}

/** The sending order of the k-th most recently sent packet among those acknowledged, or undefined if fewer. */
const kthNewestAcked = (packets: ReadonlyArray<Outgoing>, k: number): number | undefined => {
  const newest: Array<number> = [] // the k latest sending orders seen, latest first
  for (const p of packets) {
    if (!p.acked || (newest.length === k && p.sentOrder <= newest[k - 1]!)) continue
    const i = newest.findIndex((order) => order < p.sentOrder)
    newest.splice(i < 0 ? newest.length : i, 0, p.sentOrder)
    if (newest.length > k) newest.pop()
  }
  return newest.length === k ? newest[k - 1] : undefined
}

export class UtpSocket {
  state: UtpState
  readonly ledbat = new Ledbat(INITIAL_WINDOW)
  private seqNr: number
  /** The last in-order sequence number received. */
  private ackNr = 0
  /** Packets sent and not yet cumulatively acknowledged, in sequence order (some may be selectively acknowledged). */
  private readonly outstanding: Array<Outgoing> = []
  /** Of `outstanding`: packets not acknowledged; those marked for resending; bytes of the others (in flight). */
  private unackedCount = 0
  private resendCount = 0
  private inFlightBytes = 0
  private readonly sendQueue: Array<Uint8Array> = []
  /** Beside each entry of `sendQueue`: its writer's `sent` callback, called once the entry is copied into packets. */
  private readonly sendDone: Array<(() => void) | undefined> = []
  private queuedBytes = 0
  /** Packets received past a gap, by sequence number: their payloads copied (the caller may reuse its buffer). */
  private readonly reorder = new Map<number, { readonly type: PacketType; readonly payload: Uint8Array }>()
  private reorderBytes = 0
  /** Bytes delivered that the application has not consumed, as it last said (`setUnread`). */
  private unread = 0
  /** The window in the last packet we sent. */
  private lastWindow = RECEIVE_WINDOW
  private peerWindow = RECEIVE_WINDOW
  /** Set while `tick` sends one packet into the peer's zero window. */
  private probing = false
  /** Since when the peer's window has been shut while we had something to send. */
  private blockedSince: number | undefined
  /** When we last sent a packet, and last received one that passed the checks of `receive`. */
  private lastSentAt: number
  private lastReceivedAt: number
  private replyMicro = 0
  private lastAckReceived: number
  private dupAcks = 0
  /** Losses of packets before this sequence number belong to a window already halved. */
  private recoveryPoint: number
  /** See INITIAL_REORDER_THRESHOLD. */
  private reorderThreshold = INITIAL_REORDER_THRESHOLD
  /**
   * The last halving of the window for a loss, until the packet taken as lost is resent: if it is acknowledged
   * before that, it was overtaken on the way, not lost, and the halving is undone.
   */
  private halving: { readonly seq: number; readonly cwnd: number; readonly recoveryPoint: number } | undefined
  private timerStart = 0
  private timeouts = 0
  private closing = false
  private finSent = false
  private finAcked = false
  private eofPkt: number | undefined
  private eofDelivered = false
  private sendCounter = 0
  private delayedAcks = false
  /** DATA or FIN packets received since the last packet we sent (each of ours carries the ACK). */
  private ackOwed = 0
  private readonly counts = { packetsSent: 0, packetsReceived: 0, retransmits: 0, lost: 0, timeouts: 0 }
  private out: UtpOutput = { packets: [], events: [] }

  private constructor(
    private readonly recvId: number,
    private readonly sendId: number,
    seqNr: number,
    state: UtpState,
    now: number
  ) {
    this.lastSentAt = now
    this.lastReceivedAt = now
    this.seqNr = seqNr
    this.recoveryPoint = seqNr
    this.lastAckReceived = seqAdd(seqNr, -1)
    this.state = state
  }

  /** Starts a connection: the answer holds the SYN. */
  static connect(options: UtpSocketOptions, now: number): readonly [UtpSocket, UtpOutput] {
    const socket = new UtpSocket(options.connectionId & 0xffff, seqAdd(options.connectionId, 1), options.seqNr ?? 1, "synSent", now)
    socket.delayedAcks = options.delayedAcks ?? false
    socket.push("syn", new Uint8Array(0), now)
    return [socket, socket.take()]
  }

  /** Answers a SYN: the answer holds the ST_STATE that acknowledges it. */
  static accept(syn: Packet, options: UtpAcceptOptions, now: number): readonly [UtpSocket, UtpOutput] {
    const socket = new UtpSocket(seqAdd(syn.connectionId, 1), syn.connectionId, options.seqNr, "synRecv", now)
    socket.delayedAcks = options.delayedAcks ?? false
    socket.ackNr = syn.seqNr
    socket.peerWindow = syn.windowSize
    socket.observe(syn, now)
    // The ST_STATE takes no sequence number: our first DATA carries the same one (as libutp and libtorrent do).
    socket.out.packets.push(socket.header("state", socket.seqNr, new Uint8Array(0), now))
    socket.recoveryPoint = socket.seqNr
    socket.lastAckReceived = seqAdd(socket.seqNr, -1)
    return [socket, socket.take()]
  }

  /** The connection id packets to us carry: what a demultiplexer keys this socket by. */
  get receiveId(): number {
    return this.recvId
  }

  /** An ACK is owed: `flushAck` would send one. */
  get owesAck(): boolean {
    return this.ackOwed > 0
  }

  /** Bytes written and not yet sent (waiting for the window). */
  get queued(): number {
    return this.queuedBytes
  }

  /** The connection's figures now (a fresh object; the counters are plain fields bumped as things happen). */
  get stats(): UtpStats {
    return {
      rttMs: this.ledbat.rtt.rtt ?? 0,
      rttVarMs: this.ledbat.rtt.rttVar,
      cwnd: this.ledbat.cwnd,
      peerWindow: this.peerWindow,
      ...this.counts
    }
  }

  /** Bytes received ahead of a gap, held in the reorder buffer (at most RECEIVE_WINDOW). */
  get buffered(): number {
    return this.reorderBytes
  }

  /**
   * Queues bytes to send. They are referenced until packets take a copy of them; then `sent`, if given, is called
   * (from this or a later call), so that the caller may reuse their memory. Bytes refused (the socket is closing)
   * are not kept: `sent` is called at once.
   */
  write(bytes: Uint8Array, now: number, sent?: () => void): UtpOutput {
    if (this.closing || this.state === "closed" || this.state === "reset") {
      sent?.()
      return this.take()
    }
    if (bytes.length > 0) {
      this.sendQueue.push(bytes)
      this.sendDone.push(sent)
      this.queuedBytes += bytes.length
    } else {
      sent?.()
    }
    this.flush(now)
    return this.take()
  }

  /**
   * Queues bytes without sending them yet (`sent` as for `write`): `sendQueued` sends everything queued at once. A caller that queues what
   * one event-loop turn writes (a burst of 17-byte requests, say) and then calls `sendQueued` puts them in shared
   * packets, which carry the ACK owed too, where `write` would send one small packet each.
   */
  queue(bytes: Uint8Array, sent?: () => void): void {
    if (this.closing || this.state === "closed" || this.state === "reset" || bytes.length === 0) return sent?.()
    this.sendQueue.push(bytes)
    this.sendDone.push(sent)
    this.queuedBytes += bytes.length
  }

  /** Sends what `queue` left (as the window allows), then the ACK still owed if no packet carried it. */
  sendQueued(now: number): UtpOutput {
    this.flush(now)
    return this.flushAck(now)
  }

  /** Ends our direction: a FIN follows the queued bytes. */
  close(now: number): UtpOutput {
    this.closing = true
    this.flush(now)
    return this.take()
  }

  /**
   * Tells the socket how many delivered bytes the application holds unconsumed (a paused reader): they come off the
   * window we advertise. When that reopens the window (see `windowReopened`), an ST_STATE says so at once, so that
   * a sender stopped by our zero window need not wait for its next probe.
   */
  setUnread(bytes: number, now: number): UtpOutput {
    this.unread = bytes > 0 ? bytes : 0 // NaN too
    if (this.state === "connected" && this.windowReopened()) this.sendState(now)
    return this.take()
  }

  /**
   * Runs the timers: the connection's limits (silence, a shut window), the retransmission timeout or the probe of a
   * shut window, and the keep-alive.
   */
  tick(now: number): UtpOutput {
    if (this.state === "closed" || this.state === "reset") return this.take()
    const unacked = this.hasUnacked()
    const blocked = this.peerWindow === 0 && (unacked || this.hasWaiting())
    this.blockedSince = blocked ? this.blockedSince ?? now : undefined
    if (this.idleLimit() <= now || (this.blockedSince ?? Infinity) + ZERO_WINDOW_LIMIT_MS <= now) {
      this.giveUp()
    } else if ((unacked || blocked) && now - this.timerStart >= this.ledbat.rtt.rto) {
      if (unacked) this.onTimeout(now)
      else this.probe(now)
    } else if (this.ackOwed > 0 || (this.state === "connected" && now - this.lastSentAt >= KEEPALIVE_INTERVAL_MS)) {
      // An ACK still owed (the caller did not `flushAck`), or a keep-alive.
      this.sendState(now)
    }
    // What pacing held back, if no ACK came to release it.
    if (this.resendCount > 0 || this.queuedBytes > 0) this.flush(now)
    return this.take()
  }

  /** When `tick` next has something to do (for a caller that sleeps until then), or undefined. */
  nextTimeout(): number | undefined {
    if (this.state === "closed" || this.state === "reset") return undefined
    const blocked = this.peerWindow === 0 && this.hasWaiting()
    if (this.ackOwed > 0) return this.lastReceivedAt
    return Math.min(
      this.hasUnacked() || blocked ? this.timerStart + this.ledbat.rtt.rto : Infinity,
      this.state === "connected" ? this.lastSentAt + KEEPALIVE_INTERVAL_MS : Infinity,
      this.blockedSince === undefined ? Infinity : this.blockedSince + ZERO_WINDOW_LIMIT_MS,
      this.idleLimit()
    )
  }

  /**
   * A packet from the peer (decoded; `decodePacket` has already refused unknown versions and types). What no honest
   * peer sends is dropped without an answer: another connection id, an ACK outside what we sent (`ackPlausible`).
   */
  receive(packet: Packet, now: number): UtpOutput {
    if (this.state === "closed" || this.state === "reset") {
      // Our last ACK was lost and the peer sends its last packets again (a DATA as well as its FIN: the ACK may have
      // covered both): acknowledge them again, as TCP does in TIME-WAIT. For this the caller keeps a closed socket
      // reachable a while (say 30 s: the peer's first five resends).
      const again = packet.type === "data" || packet.type === "fin"
      if (this.state === "closed" && again && packet.connectionId === this.recvId) this.sendState(now)
      return this.take()
    }
    if (packet.type === "syn") {
      // Our ST_STATE was lost and the initiator sent its SYN again: acknowledge it again.
      if (this.state === "synRecv" && packet.connectionId === this.sendId) {
        this.out.packets.push(this.header("state", this.seqNr, new Uint8Array(0), now))
      }
      return this.take()
    }
    if (packet.connectionId !== this.recvId) return this.take()
    if (packet.type === "reset") {
      // As in libutp, the connection id is all a RESET must match: a blind attacker has 16 bits to guess (and the
      // address and port the caller demultiplexes by), the same as for any packet.
      this.state = "reset"
      this.out.events.push({ type: "reset" })
      return this.take()
    }
    if (this.state === "synSent") {
      if (packet.type !== "state" || packet.ackNr !== seqAdd(this.seqNr, -1)) return this.take()
      this.observe(packet, now)
      // The acceptor's ST_STATE takes no sequence number: its first DATA carries the same one (libutp, libtorrent).
      this.ackNr = seqAdd(packet.seqNr, -1)
      this.state = "connected"
      this.out.events.push({ type: "connected" })
    } else {
      if (!this.ackPlausible(packet.ackNr)) return this.take()
      this.observe(packet, now)
      if (this.state === "synRecv") {
        this.state = "connected"
        this.out.events.push({ type: "connected" })
      }
    }
    // A reordered packet that acknowledges less than an earlier one is old news: its window and ACK are ignored
    // (they could reopen a window since shut, or rewind the duplicate-ACK count); its data is still taken.
    if (!seqLess(packet.ackNr, this.lastAckReceived)) {
      this.peerWindow = packet.windowSize
      this.onAck(packet, now)
    }
    let ackMayWait = false
    if (packet.type === "data" || packet.type === "fin") {
      const expected = this.onData(packet)
      this.ackOwed++
      ackMayWait = this.delayedAcks && expected && packet.type === "data" && this.ackOwed < DELAYED_ACK_PACKETS
    }
    // Data of ours leaving now carries the ACK; otherwise an ST_STATE does, unless it may wait for `flushAck`.
    this.flush(now)
    if (this.ackOwed > 0 && !ackMayWait) this.sendState(now)
    this.checkClosed()
    return this.take()
  }

  /**
   * Sends the ACK owed, if any: for a caller with `delayedAcks`, once after each burst of packets it passed to
   * `receive` (libutp does the same at the end of a socket read). `tick` sends it too, so a caller that forgets
   * delays it by one tick, not for ever.
   */
  flushAck(now: number): UtpOutput {
    if (this.ackOwed > 0 && this.state !== "closed" && this.state !== "reset") this.sendState(now)
    return this.take()
  }

  // -------------------------------------------------------------------------------------------------------------

  /**
   * Whether `ackNr` acknowledges a packet we sent, recently: not one we never sent (ahead of our last), nor one from
   * further back than the most we ever hold unacknowledged plus as much again for reordering. No honest peer sends
   * either; a blind spoofer must guess within that range of 65,536.
   */
  private ackPlausible(ackNr: number): boolean {
    const behind = seqDiff(seqAdd(this.seqNr, -1), ackNr)
    return behind >= 0 && behind <= 2 * MAX_OUTSTANDING
  }

  /** Nothing acknowledged for an RTO: every unacknowledged packet is resent, the window drops to one packet. */
  private onTimeout(now: number): void {
    this.counts.timeouts++
    if (++this.timeouts > MAX_TIMEOUTS) return this.giveUp()
    this.ledbat.onTimeout()
    this.halving = undefined
    for (const p of this.outstanding) this.markResend(p)
    this.timerStart = now
    // A peer whose window is shut gets one packet, the probe, as below.
    this.probing = true
    this.flush(now)
    this.probing = false
  }

  /**
   * The peer's window is shut and nothing is in flight: one packet goes anyway, once per RTO. Its ACK carries the
   * peer's window, so a window update of the peer's that was lost cannot stall us for good; and as long as the
   * peer answers, nothing counts towards MAX_TIMEOUTS (ZERO_WINDOW_LIMIT_MS bounds the wait instead).
   */
  private probe(now: number): void {
    this.probing = true
    this.flush(now)
    this.probing = false
    // Nothing went after all (the queue waits on MAX_OUTSTANDING, or the connection is not open yet): wait another
    // RTO rather than try again at every tick.
    if (!this.hasUnacked()) this.timerStart = now
  }

  /**
   * When silence ends the connection: IDLE_TIMEOUT_MS after the last packet from the peer, once it is established
   * (or half-open: a SYN answered and nothing since). A connecting socket has its SYN's timeouts instead.
   */
  private idleLimit(): number {
    return this.state === "connected" || this.state === "synRecv" ? this.lastReceivedAt + IDLE_TIMEOUT_MS : Infinity
  }

  private giveUp(): void {
    this.state = "closed"
    this.out.events.push({ type: "timedOut" })
  }

  private hasUnacked(): boolean {
    return this.unackedCount > 0
  }

  /** Whether something waits for the window: a resend, queued bytes, or our FIN. */
  private hasWaiting(): boolean {
    return this.resendCount > 0 || this.queuedBytes > 0 || (this.closing && !this.finSent)
  }

  /** The window we advertise: what the reorder buffer and the application's unread bytes leave of RECEIVE_WINDOW. */
  private window(): number {
    return Math.max(0, RECEIVE_WINDOW - this.reorderBytes - this.unread)
  }

  /**
   * Whether the window grew enough since we last advertised it to be worth a packet of its own: from less than one
   * full packet to at least one (the sender may be stopped), or by a quarter of RECEIVE_WINDOW.
   */
  private windowReopened(): boolean {
    const window = this.window()
    if (window < MAX_PAYLOAD) return false
    return this.lastWindow < MAX_PAYLOAD || window - this.lastWindow >= RECEIVE_WINDOW / 4
  }

  /** An ST_STATE: acknowledges what we received and advertises our window; takes no sequence number. */
  private sendState(now: number): void {
    this.out.packets.push(this.header("state", this.seqNr, new Uint8Array(0), now))
  }

  private take(): UtpOutput {
    const out = this.out
    this.out = { packets: [], events: [] }
    return out
  }

  /** Notes that the peer is alive, and the one-way delay of its packet. */
  private observe(packet: Packet, now: number): void {
    this.replyMicro = (Math.floor(now * 1000) - packet.timestamp) >>> 0
    this.lastReceivedAt = now
    this.counts.packetsReceived++
  }

  private header(type: PacketType, seq: number, payload: Uint8Array, now: number): Packet {
    const selectiveAck = this.reorder.size === 0 ? undefined : encodeSack(this.ackNr, this.reorder.keys())
    this.lastWindow = this.window()
    this.lastSentAt = now
    this.ackOwed = 0
    this.counts.packetsSent++
    return {
      type,
      connectionId: type === "syn" ? this.recvId : this.sendId,
      timestamp: Math.floor(now * 1000) >>> 0,
      timestampDifference: this.replyMicro,
      windowSize: this.lastWindow,
      seqNr: seq,
      ackNr: this.ackNr,
      ...(selectiveAck === undefined ? {} : { selectiveAck }),
      payload
    }
  }

  /** Adds a packet that takes a sequence number, and sends it. */
  private push(type: PacketType, payload: Uint8Array, now: number): void {
    const p: Outgoing = { seq: this.seqNr, type, payload, sentAt: now, transmissions: 0, acked: false, resend: true, sentOrder: 0 }
    this.outstanding.push(p)
    this.unackedCount++
    this.resendCount++
    this.seqNr = seqAdd(this.seqNr, 1)
    this.transmit(p, now)
  }

  /**
   * Whether a packet of `size` bytes may leave now: within min(cwnd, the peer's window), and one packet always when
   * nothing is in flight (a window smaller than a packet would otherwise stop us), unless the peer's window is shut:
   * then only the probe goes (see `probe`).
   */
  private fits(size: number): boolean {
    if (this.inFlightBytes === 0) return this.peerWindow > 0 || this.probing
    return this.inFlightBytes + size <= Math.min(this.ledbat.cwnd, this.peerWindow)
  }

  /** Sends what is waiting (resends first, then new data, then our FIN) while the window allows. */
  private flush(now: number): void {
    if (this.state === "closed" || this.state === "reset") return
    // Pacing: at most MAX_BURST packets at once; the rest leave with the next ACK (or tick), as the window reopens.
    const burstEnd = this.out.packets.length + MAX_BURST
    if (this.resendCount > 0) {
      for (const p of this.outstanding) {
        if (!p.resend || p.acked) continue
        if (!this.fits(sizeOf(p)) || this.out.packets.length >= burstEnd) return
        this.transmit(p, now)
      }
    }
    if (this.state !== "connected") return
    while (this.queuedBytes > 0 && this.outstanding.length < MAX_OUTSTANDING) {
      const size = Math.min(this.payloadSize(), this.queuedBytes)
      if (!this.fits(HEADER_BYTES + size) || this.out.packets.length >= burstEnd) return
      this.push("data", this.dequeue(size), now)
    }
    if (this.closing && !this.finSent && this.queuedBytes === 0 && this.fits(HEADER_BYTES)) {
      this.finSent = true
      this.push("fin", new Uint8Array(0), now)
    }
  }

  /**
   * The payload of the next DATA packet (BEP 29 adapts packet sizes to the link): a quarter of the window, between
   * MIN_PAYLOAD and MAX_PAYLOAD. A small window (at the start, after a timeout, on a congested link) then still
   * holds four packets, enough for three duplicate ACKs to reveal a loss, and a slow link is not handed whole
   * 1.4 KB packets; an open window sends full ones.
   */
  private payloadSize(): number {
    return Math.max(MIN_PAYLOAD, Math.min(MAX_PAYLOAD, Math.floor(this.ledbat.cwnd / 4) - HEADER_BYTES))
  }

  /** Sends a packet marked for sending (new, lost or timed out): it is in flight from now. */
  private transmit(p: Outgoing, now: number): void {
    if (this.inFlightBytes === 0) this.timerStart = now
    // Resent: an ACK can no longer tell whether the first copy arrived.
    if (p.seq === this.halving?.seq) this.halving = undefined
    p.resend = false
    this.resendCount--
    this.inFlightBytes += sizeOf(p)
    if (++p.transmissions > 1) this.counts.retransmits++
    p.sentAt = now
    p.sentOrder = ++this.sendCounter
    this.out.packets.push(this.header(p.type, p.seq, p.payload, now))
  }

  /** Marks a packet acknowledged; false if it already was. */
  private markAcked(p: Outgoing): boolean {
    if (p.acked) return false
    p.acked = true
    this.unackedCount--
    if (p.resend) this.resendCount--
    else this.inFlightBytes -= sizeOf(p)
    if (p.seq === this.halving?.seq) this.undoHalving()
    return true
  }

  /** Marks an unacknowledged packet in flight for sending again; false if it is not one. */
  private markResend(p: Outgoing): boolean {
    if (p.acked || p.resend) return false
    p.resend = true
    this.resendCount++
    this.inFlightBytes -= sizeOf(p)
    return true
  }

  /** A packet taken as lost: resent when the window allows; the window halves once per window of data. */
  private markLost(p: Outgoing): void {
    if (!this.markResend(p)) return
    this.counts.lost++
    if (!seqLess(p.seq, this.recoveryPoint)) {
      this.halving = { seq: p.seq, cwnd: this.ledbat.cwnd, recoveryPoint: this.recoveryPoint }
      this.ledbat.onLoss()
      this.recoveryPoint = this.seqNr
    }
  }

  /**
   * The packet a halving was for arrived without a resend: reordering, not congestion. The window goes back to
   * what it was (if it has not grown past that since), and a loss later in that window may halve it again. Such a
   * path needs more evidence of the next loss: the reorder threshold goes up by one. Without this, on a link with a
   * few milliseconds of jitter every packet overtaken by 3 others halved the window (4 MiB with no loss at all:
   * 22 s simulated with 30 ms of jitter, 2.3 s without; now 4.4 s).
   */
  private undoHalving(): void {
    const { cwnd, recoveryPoint } = this.halving!
    this.halving = undefined
    this.ledbat.cwnd = Math.max(this.ledbat.cwnd, cwnd)
    this.recoveryPoint = recoveryPoint
    this.reorderThreshold = Math.min(this.reorderThreshold + 1, MAX_REORDER_THRESHOLD)
  }

  private dequeue(size: number): Uint8Array {
    const payload = new Uint8Array(size)
    let filled = 0
    while (filled < size) {
      const head = this.sendQueue[0]!
      const take = Math.min(head.length, size - filled)
      payload.set(head.subarray(0, take), filled)
      filled += take
      if (take === head.length) {
        this.sendQueue.shift()
        this.sendDone.shift()?.()
      } else {
        this.sendQueue[0] = head.subarray(take)
      }
    }
    this.queuedBytes -= size
    return payload
  }

  /** Cumulative and selective ACKs: frees acknowledged packets, feeds the controller, finds losses. */
  private onAck(packet: Packet, now: number): void {
    let ackedBytes = 0
    let newest: Outgoing | undefined
    const ack = (p: Outgoing) => {
      if (!this.markAcked(p)) return
      ackedBytes += sizeOf(p)
      if (newest === undefined || p.sentOrder > newest.sentOrder) newest = p
    }
    // `receive` checked that ack_nr is no later than the last packet we sent.
    while (this.outstanding.length > 0 && seqDiff(this.outstanding[0]!.seq, packet.ackNr) <= 0) {
      const p = this.outstanding.shift()!
      ack(p)
      if (p.type === "fin") this.finAcked = true
    }
    const first = this.outstanding[0]
    if (packet.selectiveAck !== undefined && first !== undefined) {
      // Every packet held has been sent (FIN included: it is only added when it goes), so a selective ACK past the
      // last of them names nothing we hold and is ignored.
      for (const seq of sackedSeqs(packet.ackNr, packet.selectiveAck)) {
        const i = seqDiff(seq, first.seq)
        if (i >= 0 && i < this.outstanding.length) ack(this.outstanding[i]!)
      }
    }
    this.findLosses(packet, ackedBytes > 0)
    // One round-trip sample per ACK, from the last packet sent among those it acknowledges: the one that most likely
    // prompted it. An older packet acknowledged only now sat behind a hole (the ACK for it was cumulative and waited
    // for a resend), and a packet sent more than once cannot say which copy arrived (Karn); neither is a round trip.
    // Nor is the time the peer held the ACK: when the ACK a packet prompted is lost, the next ACK that covers it may
    // be a keep-alive 29 s later (or come after our timeout). The ACK's timestamps leave that wait out (see
    // `wireRtt`), so the sample is the lesser of the two.
    if (newest !== undefined && newest.transmissions === 1) {
      this.ledbat.rtt.sample(Math.min(now - newest.sentAt, wireRtt(packet, now) ?? Infinity))
    }
    this.ledbat.onAck({ ackedBytes, delayUs: packet.timestampDifference, nowMs: now })
    // Progress, or a shut window (the peer answered our probe): the timeouts in a row start again. A packet that
    // acknowledges nothing new (a keep-alive, a duplicate ACK, data of the peer's) does not: a connection whose
    // packets never get through would otherwise live as long as the peer keeps talking.
    if (ackedBytes > 0 || packet.windowSize === 0) {
      this.ledbat.rtt.resetBackOff()
      this.timeouts = 0
    }
    if (ackedBytes > 0) this.timerStart = now
  }

  /**
   * Losses (BEP 29): the oldest unacknowledged packet on the third duplicate ACK, and any packet that 3 packets sent
   * after it (this time round) were selectively acknowledged past; 3, or more on a path that reorders (see
   * INITIAL_REORDER_THRESHOLD).
   */
  private findLosses(packet: Packet, ackedAny: boolean): void {
    const first = this.outstanding[0]
    if (packet.type === "state" && !ackedAny && packet.ackNr === this.lastAckReceived && first !== undefined) {
      if (++this.dupAcks === this.reorderThreshold) this.markLost(first)
    } else if (packet.ackNr !== this.lastAckReceived) {
      this.dupAcks = 0
    }
    this.lastAckReceived = packet.ackNr
    if (packet.selectiveAck === undefined) return
    const kth = kthNewestAcked(this.outstanding, this.reorderThreshold)
    if (kth === undefined) return
    for (const p of this.outstanding) if (p.sentOrder < kth) this.markLost(p)
  }

  /**
   * Takes a DATA or FIN in: delivered if it is the next expected, held if it is ahead of a gap. Answers whether it
   * was the next expected with no gap after it: the only case where its ACK may wait (see `delayedAcks`); a
   * duplicate, a packet past a gap, or one that fills a gap is acknowledged at once, as TCP does, so the sender
   * learns of a loss or a repair without delay.
   */
  private onData(packet: Packet): boolean {
    const ahead = seqDiff(packet.seqNr, this.ackNr)
    if (ahead <= 0) return false // a duplicate
    if (ahead >= MAX_OUTSTANDING) return false // past what the reorder buffer reaches
    if (this.eofPkt !== undefined && seqLess(this.eofPkt, packet.seqNr)) return false // past the end of the stream
    if (this.unread >= MAX_UNREAD) return false // the sender ignores our window; the ACK says where we are
    // The earliest FIN is the end (a peer that sends two has no say over which).
    if (packet.type === "fin") this.eofPkt = packet.seqNr
    if (ahead > 1) {
      if (this.reorderBytes + packet.payload.length <= RECEIVE_WINDOW && !this.reorder.has(packet.seqNr)) {
        this.reorder.set(packet.seqNr, { type: packet.type, payload: packet.payload.slice() })
        this.reorderBytes += packet.payload.length
      }
      return false
    }
    this.deliver(packet.seqNr, packet.type, packet.payload.slice())
    if (this.reorder.size === 0) return true
    // The gap this packet filled: what waited behind it follows, up to the next gap or the end of the stream.
    for (let seq = seqAdd(this.ackNr, 1), next = this.reorder.get(seq); next !== undefined && !this.eofDelivered; ) {
      this.reorder.delete(seq)
      this.reorderBytes -= next.payload.length
      this.deliver(seq, next.type, next.payload)
      seq = seqAdd(seq, 1)
      next = this.reorder.get(seq)
    }
    return false
  }

  /** Moves ack_nr on to `seq`, handing its payload (a copy of our own, never the caller's buffer) to the reader. */
  private deliver(seq: number, type: PacketType, payload: Uint8Array): void {
    this.ackNr = seq
    if (payload.length > 0 && type === "data") this.out.events.push({ type: "data", bytes: payload })
    if (this.eofPkt !== undefined && this.ackNr === this.eofPkt && !this.eofDelivered) {
      this.eofDelivered = true
      this.out.events.push({ type: "eof" })
    }
  }

  private checkClosed(): void {
    if (this.finAcked && this.eofDelivered && this.state === "connected") {
      this.state = "closed"
      this.out.events.push({ type: "closed" })
    }
  }
}
