import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * Where the bt processes an interop run starts keep their resume files (BT_STATE_DIR), instead of the user's
 * ~/.local/state/bt: one folder per run of vitest, removed by globalSetup.ts when the run ends.
 */
export const interopStateDir = join(tmpdir(), `bt-interop-state-${process.pid}`)
