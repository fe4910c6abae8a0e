import { mkdir, readdir, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { interopStateDir } from "./stateDir.js"

/** Whether a process with this id runs (EPERM: it does, under another user). */
const running = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * The state folders of earlier runs that were killed before their teardown (their vitest process is gone): removed,
 * so that killed runs do not pile up in the temporary folder.
 */
const removeStale = async () => {
  const names = await readdir(tmpdir()).catch(() => [])
  await Promise.all(names.map((name) => {
    const pid = /^bt-interop-state-(\d+)$/.exec(name)?.[1]
    return pid === undefined || running(Number(pid)) ? undefined : rm(join(tmpdir(), name), { recursive: true, force: true })
  }))
}

/** The interop run's state folder: made at the start, removed with what its bt processes wrote at the end. */
export default async () => {
  await removeStale()
  await mkdir(interopStateDir, { recursive: true })
  return async () => {
    await rm(interopStateDir, { recursive: true, force: true })
  }
}
