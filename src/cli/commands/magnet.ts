import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { formatMagnet, Metainfo } from "../../metainfo/index.js"
import type { CommandHelp } from "../help.js"

export const magnet = Command.make(
  "magnet",
  {
    torrent: Args.text({ name: "file.torrent" }).pipe(Args.withDescription("the .torrent file to make a magnet link of"))
  },
  ({ torrent }) =>
    Effect.gen(function*() {
      const metainfo = yield* Metainfo
      yield* Console.log(formatMagnet(yield* metainfo.load(torrent)))
    })
).pipe(
  Command.withDescription(
    "Print a .torrent file's magnet link. One line: its info-hash, name (dn), every tracker (tr) and web " +
      "seed (ws)."
  )
)

export const magnetHelp: CommandHelp = {
  examples: [["bt magnet ubuntu.torrent"]]
}
