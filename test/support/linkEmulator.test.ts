/**
 * The link emulator on loopback: TCP bytes arrive whole and in order, no sooner than the round trip it adds;
 * UDP datagrams come back delayed, and about the share it is told to lose goes missing.
 */
import { createSocket } from "node:dgram"
import { connect, createServer } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { type LinkEmulator, startLinkEmulator } from "./linkEmulator.js"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

describe("link emulator", () => {
  it("relays TCP in order, from its source address, a round trip no shorter than twice the delay", async () => {
    let seenFrom = ""
    const echo = createServer((socket) => {
      seenFrom = socket.remoteAddress ?? ""
      socket.pipe(socket)
    })
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.2", resolve))
    cleanups.push(() => new Promise<void>((resolve) => echo.close(() => resolve())))
    const link: LinkEmulator = await startLinkEmulator({
      listen: { host: "127.0.0.3" },
      target: { host: "127.0.0.2", port: (echo.address() as { port: number }).port },
      sourceHost: "127.0.0.4",
      shape: { delayMs: 25, jitterMs: 5, rate: 4 * 1024 * 1024 }
    })
    cleanups.push(link.close)
    const payload = Buffer.alloc(512 * 1024)
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 255
    const started = performance.now()
    const echoed = await new Promise<Buffer>((resolve, reject) => {
      const parts: Array<Buffer> = []
      let length = 0
      const client = connect({ host: link.host, port: link.port }, () => client.write(payload))
      client.on("data", (chunk: Buffer) => {
        parts.push(chunk)
        length += chunk.length
        if (length >= payload.length) {
          client.destroy()
          resolve(Buffer.concat(parts))
        }
      })
      client.on("error", reject)
    })
    expect(performance.now() - started).toBeGreaterThanOrEqual(40)
    expect(echoed.equals(payload)).toBe(true)
    expect(seenFrom).toBe("127.0.0.4")
    expect(link.connections()).toBe(1)
  })

  it("relays UDP both ways and loses about the share asked", async () => {
    const echo = createSocket("udp4")
    echo.on("message", (message, from) => echo.send(message, from.port, from.address))
    await new Promise<void>((resolve) => echo.bind(0, "127.0.0.2", resolve))
    cleanups.push(() => {
      echo.close()
    })
    const link = await startLinkEmulator({
      listen: { host: "127.0.0.3" },
      target: { host: "127.0.0.2", port: echo.address().port },
      sourceHost: "127.0.0.4",
      shape: { delayMs: 5, loss: 0.1, seed: 7 }
    })
    cleanups.push(link.close)
    const client = createSocket("udp4")
    await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve))
    cleanups.push(() => {
      client.close()
    })
    let back = 0
    client.on("message", () => back++)
    // Paced, so the kernel's socket buffers never drop any: only the emulator loses.
    for (let i = 0; i < 1000; i++) {
      client.send(Buffer.from([i & 255]), link.port, link.host)
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    // Each way loses ~10 %: ~81 % come back.
    expect(back).toBeGreaterThan(700)
    expect(back).toBeLessThan(900)
    expect(link.datagrams().lost).toBeGreaterThan(100)
  })
})
