import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { readFile } from "node:fs/promises"
import { networkInterfaces } from "node:os"
import { Gateway, parseProcNetRoute } from "./Gateway.js"

/**
 * `Gateway` on Linux: the default route from /proc/net/route, our address from the interface it goes through. On
 * other systems (or in a container without a route) there is none, and port mapping stays quiet.
 */
export const layer: Layer.Layer<Gateway> = Layer.succeed(
  Gateway,
  Gateway.of({
    route: Effect.tryPromise(() => readFile("/proc/net/route", "utf8")).pipe(
      Effect.map((text) => {
        const found = parseProcNetRoute(text)
        if (found === undefined) return Option.none()
        const local = (networkInterfaces()[found.iface] ?? []).find((a) => a.family === "IPv4" && !a.internal)
        return local === undefined ? Option.none() : Option.some({ gateway: found.gateway, local: local.address })
      }),
      Effect.orElseSucceed(() => Option.none())
    )
  })
)
