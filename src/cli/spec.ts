/**
 * What the commands declare, read back from their @effect/cli definitions: names, arguments, options with their
 * types, defaults and descriptions, subcommands. One source of truth: the help (help.ts) and the checks made before
 * parsing (program.ts) are both drawn from the same `Command` values the parser runs.
 *
 * @effect/cli keeps these as plain data (its `Options`, `Args` and `CommandDescriptor` instructions, each a `_tag`
 * and fields); its public API offers only a rendered help, hence this reading of the data, typed loosely here and
 * confined to this file.
 */
import type * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as Option from "effect/Option"

/** What an option's value is, for its placeholder and for checking it before the parser does. */
export type ValueType =
  | { readonly kind: "flag" }
  | { readonly kind: "integer" }
  | { readonly kind: "float" }
  | { readonly kind: "choice"; readonly alternatives: ReadonlyArray<string> }
  | { readonly kind: "path"; readonly pathType: "file" | "directory" | "either" }
  | { readonly kind: "text" }

export interface OptionSpec {
  /** `--port`. */
  readonly name: string
  /** `-o`. */
  readonly aliases: ReadonlyArray<string>
  readonly type: ValueType
  /** `HOST:PORT`, `N`, `DIR`, `prefer|require|disable`; empty for a flag. */
  readonly placeholder: string
  readonly description: string
  /** May be given more than once. */
  readonly repeatable: boolean
  /** May be left out (it has a default, is optional, or is a flag or repeatable). */
  readonly optional: boolean
  /** The default, as the user would type it, when there is one worth showing. */
  readonly defaultValue: string | undefined
}

export interface ArgSpec {
  readonly name: string
  readonly description: string
  readonly optional: boolean
  readonly repeatable: boolean
}

export interface CommandSpec {
  readonly name: string
  /** The words that run it: `["dht", "lookup"]`; empty for the root. */
  readonly path: ReadonlyArray<string>
  readonly description: string
  readonly options: ReadonlyArray<OptionSpec>
  readonly args: ReadonlyArray<ArgSpec>
  readonly subcommands: ReadonlyArray<CommandSpec>
}

// The instruction data, loosely typed: every node is a `_tag` and fields.
type Node = { readonly _tag: string } & { readonly [field: string]: any }

/** A help text as plain text: spans joined, paragraphs on their own lines. */
export const docText = (doc: HelpDoc.HelpDoc): string => {
  switch (doc._tag) {
    case "Empty":
      return ""
    case "Header":
    case "Paragraph":
      return spanText(doc.value)
    case "DescriptionList":
      return doc.definitions.map(([span, inner]) => `${spanText(span)} ${docText(inner)}`).join("\n")
    case "Enumeration":
      return doc.elements.map(docText).join("\n")
    case "Sequence":
      return [docText(doc.left), docText(doc.right)].filter((text) => text !== "").join("\n")
  }
}

const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
  }
}

const valueType = (primitive: Node): ValueType => {
  switch (primitive._tag) {
    case "Bool":
      return { kind: "flag" }
    case "Integer":
      return { kind: "integer" }
    case "Float":
      return { kind: "float" }
    case "Choice":
      return { kind: "choice", alternatives: (primitive.alternatives as Array<[string, unknown]>).map(([name]) => name) }
    case "Path":
      return { kind: "path", pathType: primitive.pathType }
    default:
      return { kind: "text" }
  }
}

const placeholderOf = (type: ValueType, pseudoName: Option.Option<string>): string => {
  if (Option.isSome(pseudoName)) return pseudoName.value
  switch (type.kind) {
    case "flag":
      return ""
    case "integer":
      return "N"
    case "float":
      return "X"
    case "choice":
      return type.alternatives.join("|")
    case "path":
      return type.pathType === "directory" ? "DIR" : type.pathType === "file" ? "FILE" : "PATH"
    case "text":
      return "TEXT"
  }
}

const shownDefault = (value: unknown): string | undefined => {
  if (Option.isOption(value)) return undefined
  if (typeof value === "number" || typeof value === "string") return String(value)
  return undefined
}

/** The options an `Options` value declares, with what wraps each (default, optional, repeated). */
const optionsOf = (node: Node, wrap: Partial<OptionSpec> = {}): Array<OptionSpec> => {
  switch (node._tag) {
    case "Empty":
      return []
    case "Single": {
      const type = valueType(node.primitiveType)
      const optional = wrap.optional ?? type.kind === "flag"
      return [{
        name: node.fullName,
        aliases: (node.aliases as Array<string>).map((alias) => (alias.length === 1 ? `-${alias}` : `--${alias}`)),
        type,
        placeholder: placeholderOf(type, node.pseudoName),
        description: docText(node.description),
        repeatable: wrap.repeatable ?? false,
        optional,
        defaultValue: type.kind === "flag" ? undefined : wrap.defaultValue
      }]
    }
    case "KeyValueMap":
      return optionsOf(node.argumentOption, { ...wrap, repeatable: true })
    case "Variadic":
      return optionsOf(node.argumentOption, { ...wrap, repeatable: true, optional: true })
    case "WithDefault":
      return optionsOf(node.options, { ...wrap, optional: true, defaultValue: shownDefault(node.fallback) })
    case "WithFallback":
      return optionsOf(node.options, { ...wrap, optional: true })
    case "Map":
      return optionsOf(node.options, wrap)
    case "Both":
    case "OrElse":
      return [...optionsOf(node.left, wrap), ...optionsOf(node.right, wrap)]
    default:
      return []
  }
}

const argsOf = (node: Node, wrap: Partial<ArgSpec> = {}): Array<ArgSpec> => {
  switch (node._tag) {
    case "Single":
      return [{
        name: Option.getOrElse(node.pseudoName as Option.Option<string>, () => node.name as string),
        description: docText(node.description),
        optional: wrap.optional ?? false,
        repeatable: wrap.repeatable ?? false
      }]
    case "Variadic":
      return argsOf(node.args, {
        ...wrap,
        repeatable: true,
        optional: wrap.optional ?? Option.getOrElse(node.min as Option.Option<number>, () => 0) === 0
      })
    case "WithDefault":
    case "WithFallbackConfig":
      return argsOf(node.args, { ...wrap, optional: true })
    case "Map":
      return argsOf(node.args, wrap)
    case "Both":
      return [...argsOf(node.left, wrap), ...argsOf(node.right, wrap)]
    default:
      return []
  }
}

/** Reads a command (a `Command`'s `descriptor`) and its subcommands. */
export const commandSpec = (descriptor: unknown, path: ReadonlyArray<string> = []): CommandSpec => {
  const node = descriptor as Node
  switch (node._tag) {
    case "Map":
      return commandSpec(node.command, path)
    case "Subcommands": {
      const parent = commandSpec(node.parent, path)
      const subcommands = (node.children as Array<unknown>).map((child) =>
        commandSpec(child, [...path, commandSpec(child).name])
      )
      return { ...parent, subcommands }
    }
    case "Standard":
    case "GetUserInput":
      return {
        name: node.name,
        path,
        description: docText(node.description),
        options: node._tag === "Standard" ? optionsOf(node.options) : [],
        args: node._tag === "Standard" ? argsOf(node.args) : [],
        subcommands: []
      }
    default:
      return { name: "", path, description: "", options: [], args: [], subcommands: [] }
  }
}

/** The command that `words` name below `root` (`["dht", "lookup"]`), if there is one. */
export const findCommand = (root: CommandSpec, words: ReadonlyArray<string>): CommandSpec | undefined =>
  words.reduce<CommandSpec | undefined>(
    (command, word) => command?.subcommands.find((sub) => sub.name === word),
    root
  )
