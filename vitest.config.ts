import { defineConfig } from "vitest/config"
import { interopStateDir } from "./test/interop/stateDir.js"

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          // The fuzz targets run here in a small slice; `npm run fuzz` runs them big (see test/fuzz/fuzz.ts).
          include: ["test/**/*.test.ts", "test/fuzz/**/*.fuzz.ts"],
          exclude: ["test/interop/**"],
          // A ceiling for hangs, not a speed check: test/cli/ starts the built bt as a child process, which takes
          // seconds on a loaded 2-core machine (5 s, vitest's default, was missed there).
          testTimeout: 30_000
        }
      },
      {
        test: {
          name: "interop",
          include: ["test/interop/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Real clients each take a core; running suites one at a time keeps them from starving each other.
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          // bt processes started by a test keep resume files here, not in the user's ~/.local/state/bt; the
          // global setup's teardown removes it.
          env: { BT_STATE_DIR: interopStateDir, XDG_CONFIG_HOME: `${interopStateDir}/config` },
          globalSetup: ["test/interop/globalSetup.ts"]
        }
      }
    ]
  }
})
