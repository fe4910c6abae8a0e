/**
 * The configuration's values checked with Schema: each key's schema, a file checked whole (unknown keys refused),
 * and text (from `BT_KEY` or `bt config set`) read as the key's type. Loaded only when there is something to check.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type ConfigKey, type ConfigValue, configKey, KEYS_HINT } from "./config.js"
import { parseRate } from "./rate.js"
import { CommandFailed } from "./UsageError.js"

const schemaOf = (key: ConfigKey): Schema.Schema<any, any> => {
  switch (key.kind) {
    case "path":
    case "text":
      return Schema.String.pipe(Schema.nonEmptyString())
    case "port":
      return Schema.Int.pipe(Schema.between(0, 65535))
    case "count":
      return Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))
    case "rate":
      return Schema.String.pipe(Schema.filter((text) => parseRate(text) !== undefined))
    case "boolean":
      return Schema.Boolean
    case "choice":
      return Schema.Literal(...key.choices!)
    case "credentials":
      return Schema.String.pipe(Schema.pattern(/^[^:]+:.+$/))
  }
}

/** What a key wants, in words, for a message. */
export const expected = (key: ConfigKey): string => {
  switch (key.kind) {
    case "path":
      return "a folder (a string)"
    case "text":
      return "a string"
    case "port":
      return "a whole number from 0 to 65535"
    case "count":
      return "a whole number of at least 1"
    case "rate":
      return "bytes per second as a string, such as \"500K\" or \"4M\""
    case "boolean":
      return "true or false"
    case "choice":
      return `one of ${key.choices!.map((c) => `"${c}"`).join(", ")}`
    case "credentials":
      return "\"USER:PASSWORD\""
  }
}

const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

/** A value checked against its key's schema; the message names the key and `where`. */
export const checkValue = (key: ConfigKey, value: unknown, where: string): ConfigValue => {
  const decoded = Schema.decodeUnknownEither(schemaOf(key))(value)
  if (Either.isRight(decoded)) return decoded.right as ConfigValue
  const secret = key.kind === "credentials"
  throw new CommandFailed({
    message: `${where === "" ? "" : `${where}: `}${key.name}: expected ${expected(key)}${secret ? "" : `, got ${show(value)}`}`
  })
}

/** Text (an environment variable, `bt config set`'s value) as the key's type, then checked. */
export const checkText = (key: ConfigKey, text: string, where: string): ConfigValue => {
  const trimmed = text.trim()
  const value = key.kind === "port" || key.kind === "count"
    ? /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : text
    : key.kind === "boolean"
    ? /^(true|yes|on|1)$/i.test(trimmed) ? true : /^(false|no|off|0)$/i.test(trimmed) ? false : text
    : text
  return checkValue(key, value, where)
}

/** A file's settings, every key known and every value checked. */
export const checkFile = (path: string, raw: Record<string, unknown>): Map<ConfigKey, ConfigValue> => {
  const settings = new Map<ConfigKey, ConfigValue>()
  for (const [name, value] of Object.entries(raw)) {
    const key = configKey(name)
    if (key === undefined) {
      throw new CommandFailed({ message: `${path}: unknown key "${name}"`, hint: KEYS_HINT })
    }
    settings.set(key, checkValue(key, value, path))
  }
  return settings
}
