/**
 * The configuration file: the defaults a person sets once (download folder, port, limits, encryption, DHT, RPC), in
 * `$XDG_CONFIG_HOME/bt/config.json` (`~/.config/bt/config.json`), or the file named by `--config` or `$BT_CONFIG`.
 *
 * Each key stands for an option of the commands that declare it, and becomes that option on the command line when
 * the line does not give it: a flag wins over `BT_KEY` in the environment (`BT_PORT`, `BT_DOWNLOAD_DIR`), which
 * wins over the file. Values are checked with Schema (configSchema.ts, loaded only when there is something to
 * check: Schema takes a few hundred milliseconds to load); a bad one stops the command with one line naming the key
 * and where it came from.
 */
import * as Context from "effect/Context"
import { readFileSync } from "node:fs"
import { homedir } from "node:os"
import { join, resolve } from "node:path"
import type { CommandSpec } from "./spec.js"
import { CommandFailed } from "./UsageError.js"

export type KeyKind = "path" | "text" | "port" | "count" | "rate" | "boolean" | "choice" | "credentials"

export interface ConfigKey {
  readonly name: string
  readonly kind: KeyKind
  readonly description: string
  readonly choices?: ReadonlyArray<string>
  /** The option it gives (`--port`); a boolean key gives `off` when false (`--no-dht`) and nothing when true. */
  readonly flag?: string
  readonly off?: string
  /** Per command (`download`), an option other than `flag`. */
  readonly flagFor?: Readonly<Record<string, string>>
  /** Only these commands take it (others may declare an option of that name that means something else). */
  readonly commands?: ReadonlyArray<string>
  /** Options that, given on the line, make this key stand aside (they say the same thing another way). */
  readonly unless?: ReadonlyArray<string>
}

const SWARM = ["download", "seed", "daemon"]

/** Where the keys are listed, for an unknown one: all of them on one line would run past 100 columns. */
export const KEYS_HINT = "try: bt config list (it shows every key)"

export const CONFIG_KEYS: ReadonlyArray<ConfigKey> = [
  {
    name: "download-dir",
    kind: "path",
    description: "where downloads go (bt download -o, bt daemon --download-dir)",
    flag: "--download-dir",
    flagFor: { download: "--output" },
    commands: ["download", "daemon"]
  },
  { name: "port", kind: "port", description: "the TCP port to accept peers on", flag: "--port", commands: SWARM },
  { name: "max-peers", kind: "count", description: "the most peers at once", flag: "--max-peers", commands: SWARM },
  { name: "download-limit", kind: "rate", description: "bytes per second, such as 4M", flag: "--download-limit", commands: SWARM },
  { name: "upload-limit", kind: "rate", description: "bytes per second, such as 500K", flag: "--upload-limit", commands: SWARM },
  {
    name: "encryption",
    kind: "choice",
    choices: ["prefer", "require", "disable"],
    description: "MSE/PE with peers",
    flag: "--encryption",
    commands: SWARM
  },
  { name: "transport", kind: "choice", choices: ["both", "tcp", "utp"], description: "TCP, uTP or both", flag: "--transport", commands: SWARM },
  { name: "dht", kind: "boolean", description: "run a DHT node", off: "--no-dht", commands: SWARM, unless: ["--dht-bootstrap"] },
  { name: "lsd", kind: "boolean", description: "Local Service Discovery", off: "--no-lsd", commands: SWARM },
  { name: "port-mapping", kind: "boolean", description: "open the port on the router", off: "--no-port-mapping", commands: SWARM },
  { name: "state-dir", kind: "path", description: "where resume files are kept", flag: "--state-dir" },
  { name: "rpc-port", kind: "port", description: "bt daemon's RPC port", flag: "--rpc-port", commands: ["daemon"] },
  { name: "rpc-bind", kind: "text", description: "the address bt daemon's RPC listens on", flag: "--rpc-bind", commands: ["daemon"] },
  {
    name: "rpc-auth",
    kind: "credentials",
    description: "USER:PASSWORD bt daemon's RPC asks for",
    flag: "--rpc-auth",
    commands: ["daemon"],
    unless: ["--rpc-auth-file"]
  },
  { name: "rpc", kind: "text", description: "the daemon bt add/list/... talk to, HOST:PORT or a URL", flag: "--rpc" }
]

export const configKey = (name: string): ConfigKey | undefined => CONFIG_KEYS.find((key) => key.name === name)

/** `BT_DOWNLOAD_DIR` for `download-dir`. */
export const envName = (key: ConfigKey): string => `BT_${key.name.toUpperCase().replaceAll("-", "_")}`

export type ConfigValue = string | number | boolean

/** Where the file is, and what named it (for messages). */
export interface ConfigPath {
  readonly path: string
  /** `--config` or `$BT_CONFIG`: the file must then exist. */
  readonly named: "--config" | "$BT_CONFIG" | undefined
}

export const configPath = (flag: string | undefined, env: NodeJS.ProcessEnv): ConfigPath => {
  if (flag !== undefined && flag !== "") return { path: resolve(flag), named: "--config" }
  const fromEnv = env["BT_CONFIG"] ?? ""
  if (fromEnv !== "") return { path: resolve(fromEnv), named: "$BT_CONFIG" }
  const xdg = env["XDG_CONFIG_HOME"] ?? ""
  return { path: join(xdg !== "" ? xdg : join(homedir(), ".config"), "bt", "config.json"), named: undefined }
}

const failed = (message: string) => new CommandFailed({ message })

const problemOf = (error: NodeJS.ErrnoException): string =>
  error.code === "ENOENT"
    ? "no such file"
    : error.code === "EACCES" || error.code === "EPERM"
    ? "permission denied"
    : error.code === "EISDIR"
    ? "a folder, not a file"
    : error.message

/**
 * The file's text: undefined when the default file does not exist (no configuration is fine); a missing file named
 * by `--config` or `$BT_CONFIG`, or one that cannot be read, is an error naming it.
 */
export const readConfigText = (where: ConfigPath): string | undefined => {
  try {
    return readFileSync(where.path, "utf8")
  } catch (cause) {
    const error = cause as NodeJS.ErrnoException
    if (error.code === "ENOENT" && where.named === undefined) return undefined
    throw failed(`${where.path}${where.named === undefined ? "" : ` (${where.named})`}: ${problemOf(error)}`)
  }
}

/** The file's JSON object, unchecked beyond being one. */
export const parseConfigText = (where: ConfigPath, text: string): Record<string, unknown> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw failed(`${where.path}: not valid JSON (${(cause as Error).message})`)
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw failed(`${where.path}: expected a JSON object of settings, such as {"port": 6881}`)
  }
  return value as Record<string, unknown>
}

/** The environment's `BT_KEY` settings that are set (not empty), as text. */
export const envSettings = (env: NodeJS.ProcessEnv): Map<ConfigKey, string> => {
  const found = new Map<ConfigKey, string>()
  for (const key of CONFIG_KEYS) {
    const value = env[envName(key)] ?? ""
    if (value !== "") found.set(key, value)
  }
  return found
}

/** The words a value adds to a command line for `command`, or none when the command does not take the key. */
export const wordsFor = (
  key: ConfigKey,
  value: ConfigValue,
  command: CommandSpec,
  given: ReadonlySet<string>
): Array<string> => {
  const path = command.path.join(" ")
  if (key.commands !== undefined && !key.commands.includes(path)) return []
  const flag = key.flagFor?.[path] ?? key.flag ?? key.off!
  if (!command.options.some((option) => option.name === flag)) return []
  if (given.has(flag) || (key.unless ?? []).some((name) => given.has(name))) return []
  if (key.kind === "boolean") return value === false && key.off !== undefined ? [key.off] : []
  return [flag, String(value)]
}

/** The configuration file of this run (`--config`, `$BT_CONFIG` or the default), for `bt config`. */
export class ConfigFile extends Context.Reference<ConfigFile>()("bt/cli/ConfigFile", {
  defaultValue: (): ConfigPath => configPath(undefined, process.env)
}) {}

/** A value in effect, and where it comes from: the file's path or `$BT_KEY`. */
export interface Setting {
  readonly value: ConfigValue
  readonly source: string
}

/** Text kinds need no Schema to check (an empty variable counts as unset): the common case loads nothing more. */
const PLAIN: ReadonlySet<KeyKind> = new Set(["path", "text"])

/** The settings in effect, the environment's over the file's, every one checked; throws a CommandFailed. */
export const loadSettings = async (where: ConfigPath, env: NodeJS.ProcessEnv): Promise<Map<ConfigKey, Setting>> => {
  const text = readConfigText(where)
  const fromEnv = envSettings(env)
  const settings = new Map<ConfigKey, Setting>()
  const needsSchema = text !== undefined || [...fromEnv.keys()].some((key) => !PLAIN.has(key.kind))
  const check = needsSchema ? await import("./configSchema.js") : undefined
  if (text !== undefined) {
    for (const [key, value] of check!.checkFile(where.path, parseConfigText(where, text))) {
      settings.set(key, { value, source: where.path })
    }
  }
  for (const [key, value] of fromEnv) {
    const source = `$${envName(key)}`
    settings.set(key, { value: PLAIN.has(key.kind) ? value : check!.checkText(key, value, source), source })
  }
  return settings
}
