import * as Context from "effect/Context"

/** `--quiet`: progress is not shown, only errors and the final summary (a command's result lines). */
export class Quiet extends Context.Reference<Quiet>()("bt/cli/Quiet", { defaultValue: () => false }) {}
