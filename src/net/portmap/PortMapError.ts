import * as Data from "effect/Data"

export type PortMapErrorReason =
  /** No default gateway: the machine is not behind a router we can talk to (or it is not on a network at all). */
  | "NoGateway"
  /** The gateway (NAT-PMP/PCP) or no IGD (SSDP) answered within the bounded retries. */
  | "Timeout"
  /** The gateway answered with an error code or a SOAP fault. */
  | "Refused"
  /** An answer we cannot read: malformed bytes, XML without what we need, an oversized body. */
  | "BadAnswer"
  /** A socket or an HTTP request failed. */
  | "Network"

/** What went wrong while mapping a port. `message` is one sentence. */
export class PortMapError extends Data.TaggedError("PortMapError")<{
  readonly reason: PortMapErrorReason
  readonly detail: string
  /** The gateway's error code (NAT-PMP/PCP result code, UPnP errorCode), when it sent one. */
  readonly code?: number
  readonly cause?: unknown
}> {
  override get message(): string {
    return `port mapping: ${this.detail}`
  }
}
