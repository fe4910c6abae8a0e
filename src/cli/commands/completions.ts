/**
 * `bt completions bash|zsh|fish`: a completion script for the shell, written (completionScripts.ts) from the same
 * command definitions the help and the parser use, so it knows every command and option there is, in the help's
 * words, and nothing of @effect/cli's built-ins that bt does not offer.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { bashScript, fishScript, zshScript } from "../completionScripts.js"
import type { CommandHelp } from "../help.js"
import { commandSpec } from "../spec.js"
import { CommandFailed } from "../UsageError.js"

const SHELLS = { bash: bashScript, zsh: zshScript, fish: fishScript } as const

const isShell = (name: string): name is keyof typeof SHELLS => Object.hasOwn(SHELLS, name)

/** The command, for the root it completes (given lazily: the root holds this command too). */
export const completions = (root: () => Command.Command<any, any, any, any>) =>
  Command.make(
    "completions",
    { shell: Args.text({ name: "shell" }).pipe(Args.withDescription("bash, zsh or fish")) },
    ({ shell }) =>
      isShell(shell)
        ? Effect.sync(() => process.stdout.write(SHELLS[shell](commandSpec(root().descriptor))))
        : Effect.fail(new CommandFailed({ message: `completions for '${shell}': not a shell bt knows (bash, zsh or fish)` }))
  ).pipe(Command.withDescription("Print a shell completion script for bash, zsh or fish."))

export const completionsHelp: CommandHelp = {
  examples: [
    ["bt completions bash > ~/.local/share/bash-completion/completions/bt", "bash: completed in new shells"],
    ["bt completions zsh > \"${fpath[1]}/_bt\"", "zsh: a folder on $fpath"],
    ["source <(bt completions zsh)", "zsh: or this in ~/.zshrc, after compinit"],
    ["bt completions fish > ~/.config/fish/completions/bt.fish"]
  ]
}
