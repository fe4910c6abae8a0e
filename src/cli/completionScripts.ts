/**
 * Shell completion scripts for bash, zsh and fish, written from the same command definitions the help and the
 * parser use (spec.ts): each command's subcommands and options, an option's values where it has a known set (a
 * choice, a file, a folder), and the options every command takes as the help names them. Pure: text in, text out.
 */
import { firstSentence } from "./help.js"
import type { CommandSpec, OptionSpec, ValueType } from "./spec.js"

/** An option the completion offers: what the spec says, or one of the options bt takes after any command. */
interface Offered {
  readonly name: string
  readonly aliases: ReadonlyArray<string>
  readonly type: ValueType
  readonly description: string
}

const flag: ValueType = { kind: "flag" }

/** The options every command takes, in the help's words (`bt --help`, "More"). */
const EVERY_COMMAND: ReadonlyArray<Offered> = [
  { name: "--help", aliases: ["-h"], type: flag, description: "show the command's options and examples" },
  {
    name: "--log-level",
    aliases: [],
    type: { kind: "choice", alternatives: ["debug", "info", "warning", "error"] },
    description: "show that much of the log"
  },
  { name: "--log-file", aliases: [], type: { kind: "path", pathType: "file" }, description: "write the log to FILE" },
  {
    name: "--log-format",
    aliases: [],
    type: { kind: "choice", alternatives: ["text", "json"] },
    description: "the log as text, or as JSON lines"
  },
  { name: "--log-max-size", aliases: [], type: { kind: "text" }, description: "rotate the log file at this size (10M)" },
  { name: "--quiet", aliases: [], type: flag, description: "show errors and the final summary only" },
  {
    name: "--config",
    aliases: [],
    type: { kind: "path", pathType: "file" },
    description: "read defaults from FILE (default ~/.config/bt/config.json)"
  }
]

/** What `bt` alone takes besides. */
const ROOT_ONLY: ReadonlyArray<Offered> = [
  { name: "--version", aliases: [], type: flag, description: "print bt's version" },
  { name: "--wizard", aliases: [], type: flag, description: "build a command line step by step" }
]

/** A command's own options (the root's: --version and --wizard). */
const ownOptions = (command: CommandSpec): ReadonlyArray<Offered> =>
  command.path.length === 0 ? ROOT_ONLY : command.options.map((option: OptionSpec): Offered => ({
    name: option.name,
    aliases: option.aliases,
    type: option.type,
    description: option.description
  }))

const offered = (command: CommandSpec): ReadonlyArray<Offered> => [...ownOptions(command), ...EVERY_COMMAND]

/**
 * The `case "$cmdpath|$prev"` lines that complete an option's value (bash and zsh alike, given each shell's words
 * for a type): a command's own options under its path, the options every command takes under any.
 */
const valueCases = (commands: ReadonlyArray<CommandSpec>, values: (type: ValueType) => string, done: string) => [
  ...commands.flatMap((command) =>
    ownOptions(command).filter(takesValue).map((option) => ({ path: command.path.join(" "), option }))
  ),
  ...EVERY_COMMAND.filter(takesValue).map((option) => ({ path: undefined, option }))
].map(({ option, path }) => {
  const patterns = [option.name, ...option.aliases].map((name) =>
    path === undefined ? `*${quoted(`|${name}`)}` : quoted(`${path}|${name}`)
  )
  return `${patterns.join("|")}) ${values(option.type)}; ${done} ;;`
})

/** Every command, the root first, then each below its parent. */
const allCommands = (root: CommandSpec): Array<CommandSpec> => [root, ...root.subcommands.flatMap(allCommands)]

const takesValue = (option: Offered) => option.type.kind !== "flag"

/** The commands that take no word after them (no subcommand, no argument): no file is offered there. */
const takingNoWords = (commands: ReadonlyArray<CommandSpec>) =>
  commands.filter((command) => command.path.length > 0 && command.subcommands.length === 0 && command.args.length === 0)

/** The `case "$cmdpath"` line (bash and zsh) that completes nothing after a command taking no words, if any does. */
const noWordCases = (commands: ReadonlyArray<CommandSpec>, key: (command: CommandSpec) => string, done: string) => {
  const none = takingNoWords(commands)
  return none.length === 0 ? [] : [`      ${none.map(key).join("|")}) ${done} ;;`]
}

/** A word in a shell's single quotes. */
const quoted = (text: string) => `'${text.replaceAll("'", "'\\''")}'`

// bash: one function; the command is the run of command words typed so far (`dht lookup`).

/** Names of files: readline adds a / after a folder's (not a space) and quotes what needs it (outside a TAB, a no-op). */
const bashFilenames = "files=1; compopt -o filenames 2>/dev/null; "
const bashFiles = `${bashFilenames}COMPREPLY=($(compgen -f -- "$cur"))`

const bashValues = (type: ValueType): string => {
  switch (type.kind) {
    case "choice":
      return `COMPREPLY=($(compgen -W ${quoted(type.alternatives.join(" "))} -- "$cur"))`
    case "path":
      return type.pathType === "directory" ? `${bashFilenames}COMPREPLY=($(compgen -d -- "$cur"))` : bashFiles
    default:
      return "COMPREPLY=()"
  }
}

export const bashScript = (root: CommandSpec, program = "bt"): string => {
  const commands = allCommands(root)
  const key = (command: CommandSpec) => quoted(command.path.join(" "))
  const optionCases = commands.map((command) =>
    `      ${key(command)}) words=${quoted(offered(command).map((option) => option.name).join(" "))} ;;`
  )
  const wordCases = commands.filter((command) => command.subcommands.length > 0).map((command) =>
    `      ${key(command)}) words=${quoted(command.subcommands.map((sub) => sub.name).join(" "))} ;;`
  )
  const commandPaths = commands.filter((command) => command.path.length > 0).map(key).join("|")
  return [
    `# bash completion for ${program}: source it, or put it in ~/.local/share/bash-completion/completions/${program}`,
    `_${program}_bash_completions() {`,
    `  local cur="" prev="" cmdpath="" word words="" i n=-1 cword=0 rest="\${COMP_LINE-}" next keep text joined="" files=""`,
    `  local -a line=()`,
    `  # readline splits a word at the characters of COMP_WORDBREAKS (= and : among them): --encryption=re arrives as`,
    `  # --encryption, =, re and 127.0.0.1:6881 as 127.0.0.1, :, 6881. Rejoin the pieces typed with no blank between`,
    `  # them (COMP_LINE tells), so that the words are the ones bt will see.`,
    `  # The word under the cursor is taken up to the cursor: readline completes what is before it (COMP_POINT).`,
    `  for (( i = 0; i <= COMP_CWORD && i < \${#COMP_WORDS[@]}; i++ )); do`,
    `    word="\${COMP_WORDS[i]}" next="\${rest#"\${rest%%[![:space:]]*}"}"`,
    `    if (( i == COMP_CWORD )) && [[ -n "\${COMP_LINE-}" ]]; then`,
    `      keep=$(( COMP_POINT - \${#COMP_LINE} + \${#next} ))`,
    `      (( keep >= 0 && keep < \${#word} )) && word="\${word:0:keep}"`,
    `    fi`,
    `    if (( n >= 0 )) && [[ -n "$rest" && "$next" == "$rest" ]]; then line[n]+="$word"; else line[++n]="$word"; fi`,
    `    rest="\${next#"$word"}" cword=$n`,
    `  done`,
    `  cur="\${line[cword]}"`,
    `  (( cword > 0 )) && prev="\${line[cword-1]}"`,
    `  # --option=value: the value is completed as after --option.`,
    `  if [[ "$cur" == --?*=* ]]; then prev="\${cur%%=*}"; cur="\${cur#*=}"; joined=1; fi`,
    `  # What readline replaces is its own word, the piece after the last break (nothing after a = or :): the candidates`,
    `  # lose what comes before it in $cur (or gain what it holds before $cur, where COMP_WORDBREAKS has no = or :).`,
    `  text="$word"`,
    `  [[ "$text" =~ ^[=:]+$ ]] && text=""`,
    `  COMPREPLY=()`,
    `  _${program}_bash_candidates`,
    `  n=$(( \${#cur} - \${#text} ))`,
    `  # readline looks for a folder by the part it replaces: one after a : would get a space, so it gets its / here.`,
    `  if (( n > 0 )) && [[ -n "$files" && \${#COMPREPLY[@]} == 1 && -d "\${COMPREPLY[0]}" ]]; then`,
    `    COMPREPLY=("\${COMPREPLY[0]:n}/"); compopt -o nospace 2>/dev/null`,
    `  elif (( n > 0 )); then for i in "\${!COMPREPLY[@]}"; do COMPREPLY[i]="\${COMPREPLY[i]:n}"; done`,
    `  elif (( n < 0 )); then for i in "\${!COMPREPLY[@]}"; do COMPREPLY[i]="\${text:0:-n}\${COMPREPLY[i]}"; done; fi`,
    `  return 0`,
    `}`,
    `# COMPREPLY: the words that complete $cur after $prev (the function above's locals), the command typed so far being`,
    `# the run of command words before it.`,
    `_${program}_bash_candidates() {`,
    `  for (( i = 1; i < cword; i++ )); do`,
    `    word="\${line[i]}"`,
    `    case "\${cmdpath:+$cmdpath }$word" in`,
    `      ${commandPaths}) cmdpath="\${cmdpath:+$cmdpath }$word" ;;`,
    `    esac`,
    `  done`,
    `  case "$cmdpath|$prev" in`,
    ...valueCases(commands, bashValues, "return 0").map((line) => `    ${line}`),
    `  esac`,
    `  [[ -n "$joined" ]] && return 0`,
    `  if [[ "$cur" == -* ]]; then`,
    `    case "$cmdpath" in`,
    ...optionCases,
    `    esac`,
    `  else`,
    `    case "$cmdpath" in`,
    ...wordCases,
    ...noWordCases(commands, key, "return 0"),
    `      *) ${bashFiles}; return 0 ;;`,
    `    esac`,
    `  fi`,
    `  COMPREPLY=($(compgen -W "$words" -- "$cur"))`,
    `}`,
    `complete -F _${program}_bash_completions ${program}`,
    ``
  ].join("\n")
}

// zsh: the same walk, with descriptions shown by `_describe`.

const zshValues = (type: ValueType): string => {
  switch (type.kind) {
    case "choice":
      return `compadd -- ${type.alternatives.map(quoted).join(" ")}`
    case "path":
      return type.pathType === "directory" ? "_files -/" : "_files"
    default:
      return "_message value"
  }
}

/** `name:description` for `_describe`, a colon in the name escaped. */
const described = (name: string, description: string) => quoted(`${name.replaceAll(":", "\\:")}:${description}`)

export const zshScript = (root: CommandSpec, program = "bt"): string => {
  const commands = allCommands(root)
  const key = (command: CommandSpec) => quoted(command.path.join(" "))
  const optionCases = commands.map((command) =>
    `      ${key(command)}) described=(${offered(command).map((o) => described(o.name, o.description)).join(" ")}) ;;`
  )
  const wordCases = commands.filter((command) => command.subcommands.length > 0).map((command) =>
    `      ${key(command)}) described=(${
      command.subcommands.map((sub) => described(sub.name, firstSentence(sub.description))).join(" ")
    }) ;;`
  )
  const commandPaths = commands.filter((command) => command.path.length > 0).map(key).join("|")
  return [
    `#compdef ${program}`,
    `# zsh completion for ${program}: put it in a folder on $fpath as _${program}, or source it after compinit`,
    `_${program}() {`,
    `  local cmdpath="" word prev="\${words[CURRENT-1]}" i joined=""`,
    `  local -a described`,
    `  for (( i = 2; i < CURRENT; i++ )); do`,
    `    word="\${words[i]}"`,
    `    case "\${cmdpath:+$cmdpath }$word" in`,
    `      (${commandPaths}) cmdpath="\${cmdpath:+$cmdpath }$word" ;;`,
    `    esac`,
    `  done`,
    `  # --option=value: the value is completed as after --option.`,
    `  if [[ "$PREFIX" == --?*=* ]]; then prev="\${PREFIX%%=*}"; joined=1; compset -P '*='; fi`,
    `  case "$cmdpath|$prev" in`,
    ...valueCases(commands, zshValues, "return").map((line) => `    (${line}`),
    `  esac`,
    `  [[ -n "$joined" ]] && return 1`,
    `  if [[ "$PREFIX" == -* ]]; then`,
    `    case "$cmdpath" in`,
    ...optionCases.map((line) => line.replace(/^ {6}/, "      (")),
    `    esac`,
    `    _describe option described`,
    `  else`,
    `    case "$cmdpath" in`,
    ...wordCases.map((line) => line.replace(/^ {6}/, "      (")),
    ...noWordCases(commands, key, "return 1").map((line) => line.replace(/^ {6}/, "      (")),
    `      (*) _files; return ;;`,
    `    esac`,
    `    _describe command described`,
    `  fi`,
    `}`,
    `# Loaded from $fpath, this file is the body of _${program}: complete. Sourced: bind _${program} to ${program}.`,
    `if [[ "\${funcstack[1]}" == _${program} ]]; then _${program} "$@"; else compdef _${program} ${program}; fi`,
    ``
  ].join("\n")
}

// fish: a function that finds the command typed so far by the same walk as bash and zsh, then one `complete` line
// per subcommand and per option, each with the condition that the command typed is the one it belongs to.

const fishValues = (type: ValueType): string => {
  switch (type.kind) {
    case "flag":
      return ""
    case "choice":
      // Each value with an empty description (`value\t`), not the option's, which fish would show beside each.
      return ` -x -a ${fishQuoted(type.alternatives.map((value) => `${value}\\t`).join(" "))}`
    case "path":
      return type.pathType === "directory" ? " -x -a '(__fish_complete_directories)'" : " -r -F"
    default:
      return " -x"
  }
}

/** fish's single quotes: a backslash and a quote escaped. */
const fishQuoted = (text: string) => `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`

export const fishScript = (root: CommandSpec, program = "bt"): string => {
  const commands = allCommands(root)
  const using = `__${program}_using`
  /** The condition that the command typed so far is `command` (`bt config list` is not `bt list`). */
  const condition = (command: CommandSpec) => fishQuoted(`${using} ${fishQuoted(command.path.join(" "))}`)
  const commandPaths = commands.filter((command) => command.path.length > 0).map((command) =>
    fishQuoted(command.path.join(" "))
  )
  const lines = [
    `# fish completion for ${program}: put it in ~/.config/fish/completions/${program}.fish`,
    `# Whether the command typed so far (the run of command words, as \`dht lookup\`; option values are not) is $argv[1].`,
    `function ${using}`,
    `    set -l words (commandline -opc)`,
    `    set -e words[1]`,
    `    set -l path ""`,
    `    for word in $words`,
    `        set -l next (string trim -- "$path $word")`,
    `        switch "$next"`,
    `            case ${commandPaths.join(" ")}`,
    `                set path $next`,
    `        end`,
    `    end`,
    `    test "$path" = "$argv[1]"`,
    `end`
  ]
  for (const command of takingNoWords(commands)) lines.push(`complete -c ${program} -f -n ${condition(command)}`)
  for (const command of commands) {
    const when = condition(command)
    for (const sub of command.subcommands) {
      lines.push(`complete -c ${program} -f -n ${when} -a ${fishQuoted(sub.name)} -d ${fishQuoted(firstSentence(sub.description))}`)
    }
    for (const option of offered(command)) {
      const short = option.aliases.filter((alias) => /^-[^-]$/.test(alias)).map((alias) => ` -s ${alias.slice(1)}`).join("")
      lines.push(
        `complete -c ${program} -n ${when} -l ${option.name.slice(2)}${short}${fishValues(option.type)} -d ${
          fishQuoted(option.description)
        }`
      )
    }
  }
  return `${lines.join("\n")}\n`
}
