/**
 * Network namespaces joined by a veth pair, for interop tests that need a LAN of their own (multicast, a firewall):
 * made in `beforeAll`, removed in `afterAll` (deleting a namespace deletes its end of the pair and its nftables
 * tables). Needs root and `ip`.
 */
import { spawnSync } from "node:child_process"

/** Runs a command to completion (10 s at most); throws with its stderr if it fails. */
export const run = (exe: string, args: ReadonlyArray<string>, input?: string): void => {
  const r = spawnSync(exe, args, { encoding: "utf8", timeout: 10_000, input })
  if (r.status !== 0) throw new Error(`${exe} ${args.join(" ")}: ${r.stderr}`)
}

/** One side of the pair: its namespace, its addresses (/24), and commands run in it once it is up. */
export interface NamespaceSide {
  readonly ns: string
  readonly addresses: ReadonlyArray<string>
  readonly setUp?: (ns: string, dev: string) => void
}

/** Makes two namespaces and the veth pair between them (devices named from `tag`); returns the remover. */
export const vethPair = (tag: string, sides: readonly [NamespaceSide, NamespaceSide]): () => void => {
  const devs = [`${tag}a`, `${tag}b`] as const
  for (const side of sides) run("ip", ["netns", "add", side.ns])
  run("ip", ["link", "add", devs[0], "type", "veth", "peer", "name", devs[1]])
  sides.forEach((side, i) => {
    const dev = devs[i]!
    run("ip", ["link", "set", dev, "netns", side.ns])
    for (const address of side.addresses) run("ip", ["-n", side.ns, "addr", "add", `${address}/24`, "dev", dev])
    run("ip", ["-n", side.ns, "link", "set", dev, "up"])
    run("ip", ["-n", side.ns, "link", "set", "lo", "up"])
    side.setUp?.(side.ns, dev)
  })
  return () => {
    for (const side of sides) spawnSync("ip", ["netns", "del", side.ns], { timeout: 10_000 })
  }
}
