// Writes docs/commands/: a page per command, each holding what `bt COMMAND --help` prints (so the pages come from
// the same definitions as the help and cannot drift from it), and an index. Needs `npm run build`.
// `node scripts/docs.mjs --check` writes nothing: it lists the pages that are stale, missing or left over, exit 1.
import { spawnSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const out = join(root, "docs", "commands")
const check = process.argv.includes("--check")

const help = (words) => {
  const env = { ...process.env, NO_COLOR: "1" }
  delete env.FORCE_COLOR
  delete env.BT_CONFIG
  const result = spawnSync(process.execPath, [join(root, "bin", "bt.js"), ...words, "--help"], {
    cwd: root, env, encoding: "utf8", timeout: 60_000
  })
  if (result.status !== 0) throw new Error(`bt ${words.join(" ")} --help: exit ${result.status}\n${result.stderr}`)
  // The version names the commit of the build: the pages name the release only.
  return result.stdout.replace(/^(bt \S+) \(git [^)]*\):/, "$1:").trimEnd()
}

/** The commands a help lists under "Commands", with their one-line summaries (continuation lines joined). */
const listed = (text) => {
  const lines = text.split("\n")
  const start = lines.indexOf("Commands")
  if (start < 0) return []
  const commands = []
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") break
    const entry = /^ {2}(\S+) +(.*)$/.exec(line)
    if (entry !== null) commands.push({ name: entry[1], summary: entry[2] })
    else commands.at(-1).summary += ` ${line.trim()}`
  }
  return commands
}

const pages = new Map()
const index = []
const visit = (words) => {
  const text = help(words)
  const name = ["bt", ...words].join(" ")
  const file = `${["bt", ...words].join("-")}.md`
  pages.set(
    file,
    `# ${name}\n\n<!-- Made by \`npm run docs\` from \`${name} --help\`: change the command's definition, not this page. -->\n\n` +
      "```text\n" + text + "\n```\n"
  )
  for (const { name: sub, summary } of listed(text)) {
    index.push(`- [\`${[...["bt", ...words], sub].join(" ")}\`](${["bt", ...words, sub].join("-")}.md): ${summary}`)
    visit([...words, sub])
  }
}
visit([])
pages.set(
  "README.md",
  "# The bt commands\n\n<!-- Made by `npm run docs`. -->\n\nOne page per command, each what `bt COMMAND --help` " +
    "prints; [`bt`](bt.md) itself lists them all.\n\n" + index.join("\n") + "\n"
)

const present = (() => {
  try {
    return readdirSync(out).filter((file) => file.endsWith(".md"))
  } catch {
    return []
  }
})()
const read = (file) => {
  try {
    return readFileSync(join(out, file), "utf8")
  } catch {
    return undefined
  }
}
const stale = [...pages].filter(([file, text]) => read(file) !== text).map(([file]) => file)
const extra = present.filter((file) => !pages.has(file))
if (check) {
  for (const file of stale) console.log(`docs/commands/${file}: ${read(file) === undefined ? "missing" : "differs from the help"}`)
  for (const file of extra) console.log(`docs/commands/${file}: no such command`)
  if (stale.length + extra.length > 0) console.log("run: npm run build && npm run docs")
  process.exit(stale.length + extra.length > 0 ? 1 : 0)
}
mkdirSync(out, { recursive: true })
for (const file of stale) writeFileSync(join(out, file), pages.get(file))
for (const file of extra) rmSync(join(out, file))
console.log(`docs/commands: ${pages.size} pages, ${stale.length} written, ${extra.length} removed`)
