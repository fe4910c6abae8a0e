/**
 * What port mapping threw away, counted: answers from where none should come and answers too large to read. Plain
 * fields, bumped from socket handlers (synchronous, outside any fiber); read through `PortMapper.rejected`.
 */
export interface PortMapRejects {
  /** NAT-PMP/PCP packets from an address or port other than the gateway's. */
  notFromGateway: number
  /** SSDP answers whose LOCATION names a host other than the one that answered, or no URL at all. */
  ssdpMisdirected: number
  /** SSDP packets that are no readable answer (malformed, over 4 KiB, or someone else's search). */
  ssdpMalformed: number
  /** Device descriptions and SOAP answers larger than their cap (64 KiB, 16 KiB), cut off unread. */
  oversized: number
}

export const noRejects = (): PortMapRejects => ({ notFromGateway: 0, ssdpMisdirected: 0, ssdpMalformed: 0, oversized: 0 })
