import type * as Effect from "effect/Effect"
import type { MapProtocol } from "./pmp.js"
import type { PortMapError } from "./PortMapError.js"

export type MethodName = "pcp" | "natpmp" | "upnp"

/** A mapping as the gateway granted it. */
export interface Granted {
  readonly externalPort: number
  /** Seconds; 0 for a permanent mapping. */
  readonly lifetime: number
  /** The external address, when the answer carries it (PCP). */
  readonly externalAddress?: string
}

/** One way of talking to a gateway, found and ready to map. */
export interface Method {
  readonly name: MethodName
  readonly map: (protocol: MapProtocol, internalPort: number, externalPort: number, lease: number) => Effect.Effect<Granted, PortMapError>
  readonly unmap: (protocol: MapProtocol, internalPort: number, externalPort: number) => Effect.Effect<void, PortMapError>
  readonly externalAddress: Effect.Effect<string, PortMapError>
}
