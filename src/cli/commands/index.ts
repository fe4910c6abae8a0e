/**
 * The commands, each loaded only when it runs: `bt info x.torrent` loads the info command and what it uses, not
 * the session, the DHT and the daemon (start-up is most of what a short command costs; docs/BENCHMARKS.md,
 * `startup`). A new command is added here, under its name, with its help extras (examples, common options) under
 * its name (`"dht lookup"` for a subcommand); its options and arguments are read from its definition.
 */
import type * as Command from "@effect/cli/Command"
import type { HelpExtras } from "../help.js"

/** The commands by name, in the order the help lists them: each loads its module, and gives its help extras. */
export const commands = {
  download: () => import("./download.js").then((m) => ({ command: m.download, extras: { download: m.downloadHelp } })),
  stream: () => import("./stream.js").then((m) => ({ command: m.stream, extras: { stream: m.streamHelp } })),
  seed: () => import("./seed.js").then((m) => ({ command: m.seed, extras: { seed: m.seedHelp } })),
  create: () => import("./create.js").then((m) => ({ command: m.create, extras: { create: m.createHelp } })),
  verify: () => import("./verify.js").then((m) => ({ command: m.verify, extras: { verify: m.verifyHelp } })),
  info: () => import("./info.js").then((m) => ({ command: m.info, extras: { info: m.infoHelp } })),
  magnet: () => import("./magnet.js").then((m) => ({ command: m.magnet, extras: { magnet: m.magnetHelp } })),
  peers: () => import("./peers.js").then((m) => ({ command: m.peers, extras: { peers: m.peersHelp } })),
  dht: () => import("./dht.js").then((m) => ({ command: m.dht, extras: m.dhtHelp })),
  daemon: () => import("./daemon.js").then((m) => ({ command: m.daemon, extras: { daemon: m.daemonHelp } })),
  add: () => import("./remote.js").then((m) => ({ command: m.add, extras: m.remoteHelp })),
  list: () => import("./remote.js").then((m) => ({ command: m.list, extras: m.remoteHelp })),
  start: () => import("./remote.js").then((m) => ({ command: m.start, extras: m.remoteHelp })),
  stop: () => import("./remote.js").then((m) => ({ command: m.stop, extras: m.remoteHelp })),
  recheck: () => import("./remote.js").then((m) => ({ command: m.recheck, extras: m.remoteHelp })),
  remove: () => import("./remote.js").then((m) => ({ command: m.remove, extras: m.remoteHelp })),
  config: () => import("./config.js").then((m) => ({ command: m.config, extras: m.configHelp })),
  completions: (root: () => Command.Command<any, any, any, any>) =>
    import("./completions.js").then((m) => ({ command: m.completions(root), extras: { completions: m.completionsHelp } }))
}

/** One command, loaded. */
export type Loaded = Awaited<ReturnType<(typeof commands)[keyof typeof commands]>> & { readonly extras: HelpExtras }

/** Loads one command; `root` gives the whole `bt` command once built (for `bt completions`). */
export type Load = (root: () => Command.Command<any, any, any, any>) => Promise<Loaded>

export const isCommandName = (word: string): word is keyof typeof commands => Object.hasOwn(commands, word)
