/**
 * BEP 55 holepunch between three parties in one process: A (initiator) and T (target) cannot reach each other, both
 * are connected to R (relay). Messages travel through the codec, as on the wire.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Endpoint } from "../../src/net/Datagram.js"
import { Holepunch, type HolepunchLink } from "../../src/session/holepunch.js"
import { LinkExtensions } from "../../src/session/LinkExtensions.js"
import {
  decodeHolepunch,
  decodePexMessage,
  encodeExtendedHandshake,
  encodeHolepunch,
  encodeIp,
  encodeMessage,
  encodePexMessage,
  HolepunchErrorCode,
  type HolepunchMessage,
  OUR_EXTENSIONS,
  PexFlag,
  WireError
} from "../../src/wire/index.js"
import { makeSwarmTorrent } from "./fixtures.js"
import { makeLinkHarness } from "./linkHarness.js"

const A = { host: "198.51.100.1", port: 40001 }
const R = { host: "198.51.100.2", port: 40002 }
const T = { host: "198.51.100.3", port: 40003 }
const key = (e: Endpoint) => `${e.host}:${e.port}`

interface Party {
  readonly at: Endpoint
  readonly punch: Holepunch
  readonly dialled: Array<Endpoint>
  /** Its links to the parties it is connected to, by their address. */
  readonly links: Map<string, HolepunchLink>
}

/** Three parties; `connected` lists who is connected to whom (both ways); `speaks` those that speak ut_holepunch. */
const world = (connected: ReadonlyArray<[Endpoint, Endpoint]>, speaks = [A, R, T], clock = { now: 0 }) => {
  const parties = new Map<string, Party>()
  for (const at of [A, R, T]) {
    const links = new Map<string, HolepunchLink>()
    const dialled: Array<Endpoint> = []
    const punch = new Holepunch({
      now: () => clock.now,
      findLink: (address) => links.get(key(address)),
      isSelf: (address) => key(address) === key(at),
      dial: (address) => dialled.push(address)
    })
    parties.set(key(at), { at, punch, dialled, links })
  }
  const party = (e: Endpoint) => parties.get(key(e))!
  /** `from`'s link to `to`: what `from` sends goes through the codec to `to`'s Holepunch. */
  const link = (from: Endpoint, to: Endpoint): HolepunchLink => ({
    remote: to,
    listenAddress: to,
    speaksHolepunch: speaks.some((s) => key(s) === key(to)),
    send: (message: HolepunchMessage) => {
      const decoded = decodeHolepunch(encodeHolepunch(message))
      if (decoded instanceof WireError) throw decoded
      party(to).punch.received(party(to).links.get(key(from))!, decoded)
    }
  })
  for (const [x, y] of connected) {
    party(x).links.set(key(y), link(x, y))
    party(y).links.set(key(x), link(y, x))
  }
  return { party }
}

describe("holepunch (BEP 55)", () => {
  it("a rendezvous through a relay connected to both: each side is told to dial the other, and does", () => {
    const { party } = world([[A, R], [R, T]])
    expect(party(A).punch.ask(party(A).links.get(key(R))!, T)).toBe(true)
    expect(party(R).punch.counts.relayed).toBe(1)
    expect(party(A).dialled).toEqual([T])
    expect(party(T).dialled).toEqual([A])
    expect(party(R).dialled).toEqual([])
  })

  it("a relay refuses with the BEP's codes: a target it does not know, one that does not speak it, itself", () => {
    const notConnected = world([[A, R]])
    notConnected.party(A).punch.ask(notConnected.party(A).links.get(key(R))!, T)
    expect(notConnected.party(R).punch.counts.refused).toBe(1)
    expect(notConnected.party(A).punch.counts.errorsReceived).toBe(1)
    expect(notConnected.party(A).dialled).toEqual([])

    const mute = world([[A, R], [R, T]], [A, R])
    mute.party(A).punch.ask(mute.party(A).links.get(key(R))!, T)
    expect(mute.party(R).punch.counts).toMatchObject({ relayed: 0, refused: 1 })
    expect(mute.party(T).dialled).toEqual([])

    const self = world([[A, R]])
    self.party(A).punch.ask(self.party(A).links.get(key(R))!, R)
    expect(self.party(R).punch.counts.refused).toBe(1)
  })

  it("bounded: a flood of rendezvous for unknown peers is cut at 20 a minute; connects for connected peers or past the dial cap are ignored", () => {
    const clock = { now: 0 }
    const { party } = world([[A, R], [R, T]], [A, R, T], clock)
    const toR = party(A).links.get(key(R))!
    for (let i = 0; i < 1000; i++) toR.send({ type: "rendezvous", peer: { host: "203.0.113.9", port: 1000 + i }, errorCode: 0 })
    expect(party(R).punch.counts).toMatchObject({ refused: 20, rateLimited: 980, relayed: 0 })
    // Their errors were not asked for: counted, nothing done.
    expect(party(A).punch.counts.unsolicitedErrors).toBe(20)
    clock.now += 60_000
    toR.send({ type: "rendezvous", peer: T, errorCode: 0 })
    expect(party(R).punch.counts.relayed).toBe(1)

    // A connect naming a peer we are connected to already, or ourselves: ignored.
    const fromR = party(T).links.get(key(R))!
    party(T).punch.received(fromR, { type: "connect", peer: R, errorCode: 0 })
    party(T).punch.received(fromR, { type: "connect", peer: T, errorCode: 0 })
    // Dials in flight are capped at 8 (the one to A, from the relayed rendezvous, is still in flight): 7 of the 12.
    for (let i = 0; i < 12; i++) party(T).punch.received(fromR, { type: "connect", peer: { host: "203.0.113.7", port: 2000 + i }, errorCode: 0 })
    expect(party(T).dialled).toHaveLength(8)
    expect(party(T).punch.counts.connectsIgnored).toBe(2 + 5)
    party(T).punch.dialEnded()
    party(T).punch.received(fromR, { type: "connect", peer: { host: "203.0.113.8", port: 3000 }, errorCode: 0 })
    expect(party(T).dialled).toHaveLength(9)
  })

  it("a peer that does not speak ut_holepunch is never asked", () => {
    const { party } = world([[A, R], [R, T]], [A, T])
    expect(party(A).punch.ask(party(A).links.get(key(R))!, T)).toBe(false)
    expect(party(R).punch.counts).toMatchObject({ relayed: 0, refused: 0 })
  })
})

describe("ut_holepunch on a link (BEP 10)", () => {
  /** Two links' extensions, each sending into the other as the wire would (id at byte 5, payload after it). */
  const pair = (privateTorrent = false, bSpeaks = true) => {
    const got: Array<HolepunchMessage | WireError> = []
    const make = (remote: Endpoint, hook: boolean, deliver: () => LinkExtensions) =>
      new LinkExtensions({
        metadata: new Uint8Array(10),
        isPrivate: privateTorrent,
        port: remote.port,
        remote,
        direction: "outgoing",
        now: () => 0,
        send: (bytes) => deliver().received(bytes[5]!, bytes.subarray(6)),
        fail: (detail) => {
          throw new Error(detail)
        },
        peersLearned: () => {},
        ...(hook ? { holepunch: (message: HolepunchMessage | WireError) => void got.push(message) } : {})
      })
    const a: LinkExtensions = make(R, true, () => b)
    const b: LinkExtensions = make(A, bSpeaks, () => a)
    a.sendHandshake()
    b.sendHandshake()
    return { a, b, got }
  }

  it("is offered in the extended handshake, and a message sent by one link reaches the other's handler decoded", () => {
    const { a, b, got } = pair()
    expect(a.peer.idFor("ut_holepunch")).toBe(3)
    expect(b.peer.idFor("ut_holepunch")).toBe(3)
    b.sendHolepunch({ type: "rendezvous", peer: T, errorCode: 0 })
    expect(got).toEqual([{ type: "rendezvous", peer: T, errorCode: 0 }])
    b.received(3, Uint8Array.from([9, 9]))
    expect(got[1]).toBeInstanceOf(WireError)
  })

  it("not on a private torrent, and nothing is sent to a peer that does not offer it", () => {
    const hidden = pair(true)
    expect(hidden.a.peer.idFor("ut_holepunch")).toBeUndefined()
    hidden.b.received(3, encodeHolepunch({ type: "connect", peer: T, errorCode: 0 }))
    expect(hidden.got).toEqual([])
    const mute = pair(false, false)
    expect(mute.a.peer.idFor("ut_holepunch")).toBeUndefined()
    mute.a.sendHolepunch({ type: "rendezvous", peer: T, errorCode: 0 })
    expect(mute.got).toEqual([])
  })
})

describe("a swarm asks the peer that named an unreachable peer through PEX (BEP 55 initiator)", () => {
  const fixture = makeSwarmTorrent({ pieceLength: 32768, seed: 55, files: [{ path: ["a.bin"], length: 100_000 }] })
  const X = { host: "203.0.113.20", port: 7000 }

  const relayHarness = (speaks: boolean) => {
    const h = makeLinkHarness(fixture, { capabilities: ["extensions"] })
    const m = new Map([["ut_pex", 5], ...(speaks ? [["ut_holepunch", 6] as const] : [])])
    h.receive(encodeMessage({ type: "extended", id: 0, payload: encodeExtendedHandshake({ m }) }))
    h.receive(encodeMessage({
      type: "extended",
      id: OUR_EXTENSIONS.ut_pex,
      payload: encodePexMessage({ added: [{ ...X, flags: 0 }], dropped: [] })
    }))
    const holepunches = () =>
      h.sent.flatMap((m) => (m.type === "extended" && m.id === 6 ? [decodeHolepunch(m.payload)] : []))
    return { h, holepunches }
  }

  it("once a dial to the peer fails: a rendezvous for it, to the link that told us of it, once", () => {
    const { h, holepunches } = relayHarness(true)
    expect(holepunches()).toEqual([])
    h.swarm.unreachable(X)
    expect(holepunches()).toEqual([{ type: "rendezvous", peer: X, errorCode: 0 }])
    h.swarm.unreachable(X)
    expect(holepunches()).toHaveLength(1)
    // A peer nobody named: nobody to ask.
    h.swarm.unreachable({ host: "203.0.113.21", port: 7000 })
    expect(holepunches()).toHaveLength(1)
  })

  it("not through a link that does not speak ut_holepunch", () => {
    const { h, holepunches } = relayHarness(false)
    h.swarm.unreachable(X)
    expect(holepunches()).toEqual([])
  })
})

describe("PEX tells which peers speak ut_holepunch (BEP 11 flag 0x08)", () => {
  const fixture = makeSwarmTorrent({ pieceLength: 32768, seed: 56, files: [{ path: ["a.bin"], length: 100_000 }] })
  const limits = { requestMs: 60_000, idleMs: 600_000, snubMs: 60_000, chokedMs: 600_000 }

  /** A link in `swarm` (a new one if not given) to a peer at `host` whose extended handshake names `m`. */
  const linkTo = (host: string, m: ReadonlyArray<readonly [string, number]>, swarm?: Parameters<typeof makeLinkHarness>[1]["swarm"]) => {
    const peerId = new Uint8Array(20).fill(Number(host.split(".")[3]))
    const h = makeLinkHarness(fixture, { capabilities: ["extensions"], host, peerId, ...(swarm === undefined ? {} : { swarm }) })
    h.receive(encodeMessage({ type: "extended", id: 0, payload: encodeExtendedHandshake({ m: new Map(m) }) }))
    return h
  }

  it("a peer that named ut_holepunch is listed with 0x08, one that did not without", () => {
    const first = linkTo("10.0.0.5", [["ut_pex", 5], ["ut_holepunch", 6]])
    const second = linkTo("10.0.0.6", [["ut_pex", 5]], first.swarm)
    const third = linkTo("10.0.0.7", [["ut_pex", 5]], first.swarm)
    first.swarm.tick(limits)
    const told = (h: typeof first) =>
      h.sent.flatMap((m) => {
        if (m.type !== "extended" || m.id !== 5) return []
        const pex = decodePexMessage(m.payload, 1000)
        return pex instanceof WireError ? [] : pex.added
      })
    const flagsOf = (h: typeof first, host: string) => told(h).find((p) => p.host === host)?.flags
    expect(flagsOf(second, "10.0.0.5")! & PexFlag.holepunch).toBe(PexFlag.holepunch)
    expect(flagsOf(second, "10.0.0.7")! & PexFlag.holepunch).toBe(0)
    expect(flagsOf(third, "10.0.0.5")! & PexFlag.holepunch).toBe(PexFlag.holepunch)
  })
})

describe("a swarm knows its own address from peers' yourip (BEP 10)", () => {
  const fixture = makeSwarmTorrent({ pieceLength: 32768, seed: 57, files: [{ path: ["a.bin"], length: 100_000 }] })
  /** The harness's swarm listens on 6881. */
  const SELF = { host: "127.0.0.1", port: 6881 }

  /** A link to a loopback peer that speaks PEX and ut_holepunch and tells us `yourip`, if given. */
  const linkTo = (
    host: string,
    yourip: string | undefined,
    options: Pick<Parameters<typeof makeLinkHarness>[1], "swarm" | "onPeers"> = {}
  ) => {
    const h = makeLinkHarness(fixture, {
      capabilities: ["extensions"],
      host,
      peerId: new Uint8Array(20).fill(Number(host.split(".")[3])),
      ...options
    })
    const m = new Map([["ut_pex", 5], ["ut_holepunch", 6]])
    h.receive(encodeMessage({
      type: "extended",
      id: 0,
      payload: encodeExtendedHandshake({ m, ...(yourip === undefined ? {} : { yourip: encodeIp(yourip)! }) })
    }))
    return h
  }
  const holepunches = (h: ReturnType<typeof linkTo>) =>
    h.sent.flatMap((m) => (m.type === "extended" && m.id === 6 ? [decodeHolepunch(m.payload)] : []))
  const rendezvous = (h: ReturnType<typeof linkTo>, peer: Endpoint) =>
    h.receive(encodeMessage({
      type: "extended",
      id: OUR_EXTENSIONS.ut_holepunch,
      payload: encodeHolepunch({ type: "rendezvous", peer, errorCode: 0 })
    }))

  it("a rendezvous naming us is answered \"no self\" once a peer told us where it sees us; before, \"not connected\"", () => {
    const before = linkTo("127.0.0.3", undefined)
    rendezvous(before, SELF)
    expect(holepunches(before)).toEqual([{ type: "error", peer: SELF, errorCode: HolepunchErrorCode.notConnected }])

    const teller = linkTo("127.0.0.2", "127.0.0.1")
    const relayed = linkTo("127.0.0.3", undefined, { swarm: teller.swarm })
    rendezvous(relayed, SELF)
    expect(holepunches(relayed)).toEqual([{ type: "error", peer: SELF, errorCode: HolepunchErrorCode.noSelf }])
    expect(teller.swarm.external.report.local).toEqual(["127.0.0.1"])
    // Our address with another port is someone else: not us.
    rendezvous(relayed, { ...SELF, port: 7000 })
    expect(holepunches(relayed)[1]).toEqual({ type: "error", peer: { ...SELF, port: 7000 }, errorCode: HolepunchErrorCode.notConnected })
  })

  it("PEX naming our own address and port is not dialled (nor is a relay asked to introduce us)", () => {
    const learned: Array<Endpoint> = []
    const h = linkTo("127.0.0.2", "127.0.0.1", { onPeers: (peers) => learned.push(...peers) })
    const other = { host: "127.0.0.9", port: 7000 }
    h.receive(encodeMessage({
      type: "extended",
      id: OUR_EXTENSIONS.ut_pex,
      payload: encodePexMessage({ added: [{ ...SELF, flags: PexFlag.holepunch }, { ...other, flags: 0 }], dropped: [] })
    }))
    expect(learned).toEqual([other])
    expect(h.swarm.selfSkipped).toBe(1)
    h.swarm.unreachable(SELF)
    expect(holepunches(h)).toEqual([])
  })

  it("without a yourip, PEX naming our address is handed on (the dialer's own loopback check is all there is)", () => {
    const learned: Array<Endpoint> = []
    const h = linkTo("127.0.0.2", undefined, { onPeers: (peers) => learned.push(...peers) })
    h.receive(encodeMessage({
      type: "extended",
      id: OUR_EXTENSIONS.ut_pex,
      payload: encodePexMessage({ added: [{ ...SELF, flags: 0 }], dropped: [] })
    }))
    expect(learned).toEqual([SELF])
  })
})
