/**
 * UPnP IGD pieces, pure: the SSDP search and its answers, the device description, and the SOAP actions on a
 * WANIPConnection (1, 2) or WANPPPConnection (1) service. Only what port mapping needs; a small tag reader, not an XML
 * parser, on inputs whose size the caller bounds.
 */
import type { MapProtocol } from "./pmp.js"

export const SSDP_GROUP = { host: "239.255.255.250", port: 1900 } as const

/** The device types searched for, newest first. */
export const IGD_DEVICES = [
  "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
  "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
] as const

/** The services that map ports, in the order we prefer them. */
export const WAN_SERVICES = [
  "urn:schemas-upnp-org:service:WANIPConnection:2",
  "urn:schemas-upnp-org:service:WANIPConnection:1",
  "urn:schemas-upnp-org:service:WANPPPConnection:1"
] as const

/** An SSDP M-SEARCH for `target`, asking devices to answer within `mx` seconds. */
export const encodeSearch = (target: string, mx: number, to: { readonly host: string; readonly port: number }): Uint8Array =>
  new TextEncoder().encode(
    `M-SEARCH * HTTP/1.1\r\nHOST: ${to.host}:${to.port}\r\nMAN: "ssdp:discover"\r\nMX: ${mx}\r\nST: ${target}\r\n\r\n`
  )

/** An SSDP answer's `LOCATION` (the device description URL) and `ST`, or why it is not one. */
export const decodeSearchAnswer = (bytes: Uint8Array): { readonly location: string; readonly target: string } | string => {
  if (bytes.length > 4096) return "an SSDP answer longer than 4 KiB"
  const lines = new TextDecoder().decode(bytes).split("\r\n")
  if (!/^HTTP\/1\.[01] 200/.test(lines[0] ?? "")) return "not an HTTP 200 SSDP answer"
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":")
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  const location = headers.get("location")
  if (location === undefined || !/^http:\/\//i.test(location)) return "an SSDP answer without an http:// LOCATION"
  return { location, target: headers.get("st") ?? "" }
}

const unescapeXml = (text: string): string =>
  text.replace(/&(lt|gt|amp|quot|apos);/g, (_, name: string) => ({ lt: "<", gt: ">", amp: "&", quot: "\"", apos: "'" })[name]!)

export const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "\"": "&quot;", "'": "&apos;" })[c]!)

/**
 * The text of every `<name>` element (any namespace prefix) in `xml`, in order. A linear scan: each search starts
 * where the last match ended, and an opening tag without its closing tag ends the scan (no backtracking over a
 * hostile document).
 */
const elements = (xml: string, name: string): Array<string> => {
  const open = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^<>]*)?>`, "g")
  const close = new RegExp(`</(?:[\\w.-]+:)?${name}\\s*>`, "g")
  const found: Array<string> = []
  for (;;) {
    const start = open.exec(xml)
    if (start === null) return found
    close.lastIndex = open.lastIndex
    const end = close.exec(xml)
    if (end === null) return found
    found.push(xml.slice(open.lastIndex, end.index))
    open.lastIndex = close.lastIndex
  }
}

const text = (xml: string, name: string): string | undefined => {
  const found = elements(xml, name)[0]
  return found === undefined ? undefined : unescapeXml(found.trim())
}

export interface WanService {
  readonly serviceType: (typeof WAN_SERVICES)[number]
  /** Absolute. */
  readonly controlUrl: string
}

/**
 * The preferred WAN connection service in a device description fetched from `location`, its control URL made
 * absolute (against `URLBase` if the description has one, else against `location`); or why there is none.
 */
export const findWanService = (xml: string, location: string): WanService | string => {
  const base = text(xml, "URLBase") || location
  const services = elements(xml, "service").map((block) => ({
    serviceType: text(block, "serviceType") ?? "",
    controlUrl: text(block, "controlURL") ?? ""
  }))
  for (const wanted of WAN_SERVICES) {
    const found = services.find((s) => s.serviceType === wanted && s.controlUrl !== "")
    if (found === undefined) continue
    try {
      const url = new URL(found.controlUrl, base)
      if (url.protocol !== "http:") return `control URL ${url.href} is not http://`
      return { serviceType: wanted, controlUrl: url.href }
    } catch {
      return `control URL ${found.controlUrl} is not a URL`
    }
  }
  return "the device description has no WANIPConnection or WANPPPConnection service"
}

/** A SOAP action's request: the `SOAPAction` header's value and the envelope. */
export const soapRequest = (
  serviceType: string,
  action: string,
  args: ReadonlyArray<readonly [string, string | number]>
): { readonly soapAction: string; readonly body: string } => ({
  soapAction: `"${serviceType}#${action}"`,
  body: `<?xml version="1.0"?>\r\n` +
    `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ` +
    `s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>` +
    `<u:${action} xmlns:u="${serviceType}">` +
    args.map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`).join("") +
    `</u:${action}></s:Body></s:Envelope>\r\n`
})

export interface AddPortMapping {
  readonly protocol: MapProtocol
  readonly externalPort: number
  readonly internalPort: number
  /** Our LAN address, the mapping's target. */
  readonly internalClient: string
  readonly description: string
  /** Seconds; 0 asks for a permanent mapping. */
  readonly lease: number
}

export const addPortMappingArgs = (m: AddPortMapping): ReadonlyArray<readonly [string, string | number]> => [
  ["NewRemoteHost", ""],
  ["NewExternalPort", m.externalPort],
  ["NewProtocol", m.protocol.toUpperCase()],
  ["NewInternalPort", m.internalPort],
  ["NewInternalClient", m.internalClient],
  ["NewEnabled", 1],
  ["NewPortMappingDescription", m.description],
  ["NewLeaseDuration", m.lease]
]

export const deletePortMappingArgs = (protocol: MapProtocol, externalPort: number) =>
  [["NewRemoteHost", ""], ["NewExternalPort", externalPort], ["NewProtocol", protocol.toUpperCase()]] as const

/** UPnP error codes we act on. */
export const UPNP_ONLY_PERMANENT_LEASES = 725

export type SoapAnswer =
  | { readonly kind: "ok"; readonly values: ReadonlyMap<string, string> }
  | { readonly kind: "fault"; readonly code: number | undefined; readonly description: string }

/**
 * A SOAP answer: the out-arguments of `<u:ActionResponse>` by name, or the `UPnPError` of a fault; or why it is
 * neither.
 */
export const decodeSoapAnswer = (xml: string, action: string): SoapAnswer | string => {
  const fault = elements(xml, "Fault")[0]
  if (fault !== undefined) {
    const code = text(fault, "errorCode")
    const number = code !== undefined && /^\d+$/.test(code) ? Number(code) : undefined
    return { kind: "fault", code: number, description: text(fault, "errorDescription") ?? text(fault, "faultstring") ?? "" }
  }
  const response = elements(xml, `${action}Response`)[0]
  if (response === undefined) return `the answer to ${action} has no ${action}Response`
  const values = new Map<string, string>()
  for (const match of response.matchAll(/<([A-Za-z][\w]*)>([^<]*)<\/\1>/g)) values.set(match[1]!, unescapeXml(match[2]!.trim()))
  return { kind: "ok", values }
}
