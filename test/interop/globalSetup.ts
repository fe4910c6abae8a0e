import { mkdir, rm } from "node:fs/promises"
import { interopStateDir } from "./stateDir.js"

/** The interop run's state folder: made at the start, removed with what its bt processes wrote at the end. */
export default async () => {
  await mkdir(interopStateDir, { recursive: true })
  return async () => {
    await rm(interopStateDir, { recursive: true, force: true })
  }
}
