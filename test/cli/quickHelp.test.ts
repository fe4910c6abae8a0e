import { describe, expect, it } from "vitest"
import { commands } from "../../src/cli/commands/index.js"
import { plainStyle, renderHelp } from "../../src/cli/help.js"
import { type HelpSnapshot, quickHelp } from "../../src/cli/quickHelp.js"
import { loadRoot, needed } from "../../src/cli/root.js"
import { buildVersion } from "../../src/cli/version.js"
import { commandSpec } from "../../src/cli/spec.js"

/** The snapshot as the bundle holds it: through JSON, as scripts/build-cli.mjs writes it. */
const snapshot = async (): Promise<HelpSnapshot> => {
  const { extras, root } = await loadRoot(Object.values(commands))
  return JSON.parse(JSON.stringify({ version: buildVersion(), root: commandSpec(root.descriptor), extras })) as HelpSnapshot
}

describe("quick help (from the bundle's snapshot)", () => {
  it("prints what the definitions print, for bt, bt --help, every command's --help and bt help COMMAND", async () => {
    const { extras, root } = await loadRoot(Object.values(commands))
    const spec = commandSpec(root.descriptor)
    const quick = await snapshot()
    const rootHelp = renderHelp(spec, spec, extras, buildVersion(), plainStyle)
    for (const words of [[], ["--help"], ["-h"], ["help"]]) expect(quickHelp(quick, words, plainStyle)).toBe(rootHelp)
    expect(quickHelp(quick, ["--version"], plainStyle)).toBe(`bt ${buildVersion()}`)
    for (const command of spec.subcommands) {
      const expected = renderHelp(spec, command, extras, buildVersion(), plainStyle)
      expect(quickHelp(quick, [command.name, "--help"], plainStyle), command.name).toBe(expected)
      expect(quickHelp(quick, ["help", command.name], plainStyle), command.name).toBe(expected)
    }
  })

  it("leaves every other command line to the program", async () => {
    const quick = await snapshot()
    for (const words of [["info", "x.torrent"], ["frobnicate", "--help"], ["download", "x", "--help"], ["--version", "x"], ["dht"]]) {
      expect(quickHelp(quick, words, plainStyle), words.join(" ")).toBeUndefined()
    }
  })

  it("loads only the command a line names, and all of them when it names none", () => {
    const argv = (...words: Array<string>) => ["node", "bt", ...words]
    expect(needed(argv("info", "x.torrent"))).toEqual([commands.info])
    expect(needed(argv("--log-level", "debug", "seed", "x.torrent"))).toEqual([commands.seed])
    expect(needed(argv("--help")).length).toBe(Object.keys(commands).length)
    expect(needed(argv("frobnicate")).length).toBe(Object.keys(commands).length)
    expect(needed(argv("info", "--completions", "bash")).length).toBe(Object.keys(commands).length)
  })
})
