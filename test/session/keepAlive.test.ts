import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, TestClock } from "effect"
import type { Connection } from "../../src/peer/transport/Transport.js"
import { defaultSessionConfig, KEEP_ALIVE_AFTER } from "../../src/session/SessionConfig.js"
import type { Link } from "../../src/peer/link.js"
import { type LinkEvents, runLink } from "../../src/session/runLink.js"

/** A link that is handshaken at once, records its keep-alives, and writes a message when told. */
const fakeLink = () => {
  const keepAlives: Array<number> = []
  let wrote = false
  let now = () => 0
  const link: Link & { readonly write: () => void } = {
    fail: () => {},
    sendKeepAlive: () => {
      keepAlives.push(now())
      wrote = true
    },
    takeSent: () => {
      const was = wrote
      wrote = false
      return was
    },
    write: () => {
      wrote = true
    }
  }
  return { keepAlives, link, setClock: (clock: () => number) => (now = clock) }
}

const connection = { remote: { host: "10.0.0.1", port: 6881 } } as unknown as Connection

/** Runs the link's fiber, handshaken at once, with the default keep-alive settings. */
const run = (link: Link) =>
  runLink(defaultSessionConfig, connection, (events: LinkEvents) => {
    events.onHandshake()
    return link
  }, () => {}).pipe(Effect.scoped, Effect.fork)

describe("keep-alives: only after a minute with nothing sent", () => {
  it.effect("a quiet connection gets one about every 60 s, never later than 70 s after the last", () =>
    Effect.gen(function*() {
      const fake = fakeLink()
      const clock = yield* Effect.clock
      fake.setClock(() => clock.unsafeCurrentTimeMillis())
      const fiber = yield* run(fake.link)
      yield* TestClock.adjust(Duration.seconds(59))
      expect(fake.keepAlives).toEqual([])
      yield* TestClock.adjust(Duration.seconds(241))
      expect(fake.keepAlives.length).toBe(5)
      let last = 0
      for (const at of fake.keepAlives) {
        expect(at - last).toBeGreaterThanOrEqual(Duration.toMillis(KEEP_ALIVE_AFTER))
        expect(at - last).toBeLessThanOrEqual(70_000)
        last = at
      }
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a connection that sends something every 30 s gets none", () =>
    Effect.gen(function*() {
      const fake = fakeLink()
      const fiber = yield* run(fake.link)
      for (let i = 0; i < 20; i++) {
        yield* TestClock.adjust(Duration.seconds(30))
        fake.link.write()
      }
      expect(fake.keepAlives).toEqual([])
      // Then it goes quiet: the first keep-alive comes 60-70 s later.
      yield* TestClock.adjust(Duration.seconds(59))
      expect(fake.keepAlives).toEqual([])
      yield* TestClock.adjust(Duration.seconds(11))
      expect(fake.keepAlives.length).toBe(1)
      yield* Fiber.interrupt(fiber)
    }))
})
