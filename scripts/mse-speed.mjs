#!/usr/bin/env node
// Measures the MSE primitives: Diffie-Hellman operations and RC4 throughput (ours, and OpenSSL's when the legacy
// provider is loaded). Prints figures, asserts nothing.
//
//   npm run build && node --openssl-legacy-provider scripts/mse-speed.mjs [path/to/dist]
import { createCipheriv, createDiffieHellman, getCiphers, randomBytes } from "node:crypto"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"

const dist = resolve(process.argv[2] ?? join(import.meta.dirname ?? ".", "..", "dist"))
const mse = await import(pathToFileURL(join(dist, "peer", "mse", "index.js")).href)
const { PRIME } = await import(pathToFileURL(join(dist, "peer", "mse", "dh.js")).href)

const time = (runs, f) => {
  const started = performance.now()
  for (let i = 0; i < runs; i++) f(i)
  return (performance.now() - started) / runs
}

let first = performance.now()
const warm = mse.generateKeyPair()
first = performance.now() - first
const other = mse.generateKeyPair()
console.log(`DH first use (group set up, P checked): ${first.toFixed(1)} ms`)
console.log(`DH generateKeyPair: ${(time(2000, () => mse.generateKeyPair()) * 1000).toFixed(0)} µs`)
console.log(`DH sharedSecret: ${(time(2000, () => mse.sharedSecret(warm.privateKey, other.publicKey)) * 1000).toFixed(0)} µs`)
console.log(`node:crypto createDiffieHellman(P, 2) each time: ${time(20, () => createDiffieHellman(PRIME, 2)).toFixed(1)} ms`)
const P = BigInt(`0x${PRIME.toString("hex")}`)
const modpow = (base, exponent) => {
  let result = 1n
  for (let b = base % P, e = exponent; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) result = (result * b) % P
  return result
}
console.log(`BigInt modpow, 160-bit exponent: ${(time(500, () => modpow(2n, BigInt(`0x${randomBytes(20).toString("hex")}`))) * 1000).toFixed(0)} µs`)

const TOTAL = 256 * 1024 * 1024
const key = randomBytes(20)
for (const size of [16384, 1460]) {
  const chunk = randomBytes(size)
  for (let round = 0; round < 3; round++) {
    const rc4 = new mse.Rc4(key, 1024)
    const started = performance.now()
    for (let n = 0; n < TOTAL; n += size) rc4.process(chunk)
    const ours = TOTAL / 1e6 / ((performance.now() - started) / 1000)
    let openssl = "not available (start node with --openssl-legacy-provider)"
    if (getCiphers().includes("rc4")) {
      const cipher = createCipheriv("rc4", key, null)
      cipher.update(Buffer.alloc(1024))
      const started = performance.now()
      for (let n = 0; n < TOTAL; n += size) cipher.update(chunk)
      openssl = `${(TOTAL / 1e6 / ((performance.now() - started) / 1000)).toFixed(0)} MB/s`
    }
    console.log(`RC4, ${size}-byte chunks, round ${round + 1}: ours ${ours.toFixed(0)} MB/s, OpenSSL ${openssl}`)
  }
}
