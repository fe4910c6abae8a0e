/**
 * `bt config list|get|set|unset|path`: the configuration file (see ../config.ts). `list`, `get` and `path` only
 * read; `set` and `unset` check the whole file first, then replace it atomically (temp file, fsync, rename), readable
 * by its owner only (it may hold the RPC password).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs"
import { dirname, resolve } from "node:path"
import {
  CONFIG_KEYS,
  KEYS_HINT,
  ConfigFile,
  type ConfigKey,
  configKey,
  type ConfigPath,
  type ConfigValue,
  envName,
  loadSettings,
  parseConfigText,
  readConfigText
} from "../config.js"
import type { HelpExtras } from "../help.js"
import { CommandFailed } from "../UsageError.js"

const keyArg = Args.text({ name: "key" }).pipe(Args.withDescription(`a setting: ${CONFIG_KEYS.map((k) => k.name).join(", ")}`))

/** Runs a step that throws CommandFailed (the config module's way) as an Effect. */
const attempt = <A>(step: () => A | Promise<A>): Effect.Effect<A, CommandFailed> =>
  Effect.tryPromise({
    try: async () => step(),
    catch: (error) =>
      error instanceof CommandFailed ? error : new CommandFailed({ message: error instanceof Error ? error.message : String(error) })
  })

const knownKey = (name: string): Effect.Effect<ConfigKey, CommandFailed> => {
  const key = configKey(name)
  return key === undefined
    ? Effect.fail(new CommandFailed({ message: `unknown key "${name}"`, hint: KEYS_HINT }))
    : Effect.succeed(key)
}

const show = (key: ConfigKey, value: ConfigValue): string =>
  key.kind === "credentials" ? `${String(value).split(":")[0]}:********` : String(value)

const list = Command.make("list", {}, () =>
  Effect.gen(function*() {
    const where = yield* ConfigFile
    const settings = yield* attempt(() => loadSettings(where, process.env))
    yield* Console.log(`# ${where.path}`)
    const width = Math.max(...CONFIG_KEYS.map((key) => key.name.length)) + 2
    for (const key of CONFIG_KEYS) {
      const setting = settings.get(key)
      const value = setting === undefined ? "-" : show(key, setting.value)
      const from = setting === undefined ? "" : setting.source === where.path ? "" : `  (from ${setting.source})`
      yield* Console.log(`${key.name.padEnd(width)}${value}${from}`)
    }
  })).pipe(Command.withDescription("List every setting: its value from the file or the environment, - when unset."))

const get = Command.make("get", { key: keyArg }, ({ key: name }) =>
  Effect.gen(function*() {
    const key = yield* knownKey(name)
    const where = yield* ConfigFile
    const setting = (yield* attempt(() => loadSettings(where, process.env))).get(key)
    if (setting === undefined) return yield* new CommandFailed({ message: `${key.name} is not set (in ${where.path} or $${envName(key)})` })
    yield* Console.log(String(setting.value))
  })).pipe(Command.withDescription("Print a setting's value (from $BT_KEY when set, else from the file); exit 1 when unset."))

/** The file's settings as they are, for `set` and `unset` to change: checked, unless only to take a key away. */
const fileSettings = (where: ConfigPath, check: boolean): Effect.Effect<Record<string, unknown>, CommandFailed> =>
  attempt(async () => {
    const text = readConfigText({ ...where, named: undefined })
    if (text === undefined) return {}
    const raw = parseConfigText(where, text)
    if (check) (await import("../configSchema.js")).checkFile(where.path, raw)
    return raw
  })

const writeSettings = (where: ConfigPath, settings: Record<string, unknown>): Effect.Effect<void, CommandFailed> =>
  attempt(() => {
    const temp = `${where.path}.${process.pid}.tmp`
    try {
      mkdirSync(dirname(where.path), { recursive: true, mode: 0o700 })
      const fd = openSync(temp, "w", 0o600)
      try {
        writeSync(fd, `${JSON.stringify(settings, null, 2)}\n`)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(temp, where.path)
    } catch (cause) {
      rmSync(temp, { force: true })
      const error = cause as NodeJS.ErrnoException
      throw new CommandFailed({ message: `${where.path}: cannot write it (${error.code ?? error.message})` })
    }
  })

const set = Command.make(
  "set",
  { key: keyArg, value: Args.text({ name: "value" }).pipe(Args.withDescription("its value (true/false for on/off settings)")) },
  ({ key: name, value }) =>
    Effect.gen(function*() {
      const key = yield* knownKey(name)
      const where = yield* ConfigFile
      const settings = yield* fileSettings(where, true)
      const text = key.kind === "path" ? resolve(value) : value
      const checked = yield* attempt(async () => (await import("../configSchema.js")).checkText(key, text, ""))
      yield* writeSettings(where, { ...settings, [key.name]: checked })
      yield* Console.log(`${key.name} = ${show(key, checked)} (in ${where.path})`)
    })
).pipe(Command.withDescription("Set a setting in the file (creating it), after checking the value."))

const unset = Command.make("unset", { key: keyArg }, ({ key: name }) =>
  Effect.gen(function*() {
    // Any key the file has, known or not: how a file with a misspelt key is mended.
    const key = configKey(name) ?? { name }
    const where = yield* ConfigFile
    const settings = yield* fileSettings(where, false)
    if (!Object.hasOwn(settings, key.name)) return yield* Console.log(`${key.name} was not set (in ${where.path})`)
    const { [key.name]: _, ...rest } = settings
    yield* writeSettings(where, rest)
    yield* Console.log(`${key.name} unset (in ${where.path})`)
  })).pipe(Command.withDescription("Remove a setting from the file."))

const path = Command.make("path", {}, () => Effect.flatMap(ConfigFile, (where) => Console.log(where.path))).pipe(
  Command.withDescription("Print where the configuration file is (whether or not it exists).")
)

export const config = Command.make("config").pipe(
  Command.withDescription(
    "Read and change the configuration file: the defaults for options people set once. A flag on the command line " +
      "wins over $BT_KEY (BT_PORT, BT_DOWNLOAD_DIR, ...), which wins over the file. The file is " +
      "$XDG_CONFIG_HOME/bt/config.json (~/.config/bt/config.json), or the one --config FILE or $BT_CONFIG names."
  ),
  Command.withSubcommands([list, get, set, unset, path])
)

export const configHelp: HelpExtras = {
  config: {
    examples: [
      ["bt config set download-dir ~/Downloads", "downloads go there unless -o says otherwise"],
      ["bt config set port 51413"],
      ["bt config set dht false", "bt download and seed as if given --no-dht"],
      ["bt config list"]
    ]
  },
  "config list": { examples: [["bt config list"], ["bt --config ./test.json config list"]] },
  "config get": { examples: [["bt config get port"]] },
  "config set": { examples: [["bt config set upload-limit 500K"], ["bt config set rpc-auth alice:s3cret"]] },
  "config unset": { examples: [["bt config unset upload-limit"]] },
  "config path": { examples: [["bt config path"]] }
}
