import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { formatMagnet, Metainfo } from "../../metainfo/index.js"

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
    "Print the magnet link of a .torrent file on one line: its info-hash, name (dn), every tracker (tr) and web " +
      "seed (ws)."
  )
)
