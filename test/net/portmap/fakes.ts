/**
 * Fake gateways on 127.0.0.1 for the PortMapper tests: a NAT-PMP/PCP responder (UDP), an SSDP responder (UDP) and an
 * IGD's HTTP side (device description + SOAP control). Each records what it was asked.
 */
import * as dgram from "node:dgram"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface PmpRequest {
  readonly version: number
  readonly protocol: "tcp" | "udp" | "external"
  readonly internalPort: number
  readonly externalPort: number
  readonly lifetime: number
}

export interface FakePmpOptions {
  /** "pcp" answers PCP; "natpmp" answers PCP with a version-0 "unsupported version", as NAT-PMP-only routers do. */
  readonly speaks: "pcp" | "natpmp" | "silent"
  /** Lifetime granted (seconds), whatever is asked. */
  readonly grant?: number
  /** Answer from another socket than the one asked (someone else than the gateway). */
  readonly answerFromElsewhere?: boolean
  /** Never answer a delete (lifetime 0). */
  readonly silentOnDelete?: boolean
}

export const EXTERNAL = [203, 0, 113, 7] as const

/** A NAT-PMP/PCP gateway on 127.0.0.1, closed with the scope. */
export const fakePmpGateway = (options: FakePmpOptions) =>
  Effect.acquireRelease(
    Effect.async<{ port: number; requests: Array<PmpRequest>; close: () => void }>((resume) => {
      const requests: Array<PmpRequest> = []
      const socket = dgram.createSocket("udp4")
      const elsewhere = dgram.createSocket("udp4")
      elsewhere.bind(0, "127.0.0.1")
      socket.on("message", (msg, from) => {
        const reply = (bytes: Buffer) => (options.answerFromElsewhere ? elsewhere : socket).send(bytes, from.port, from.address)
        const grant = options.grant ?? 3600
        if (msg[0] === 2 && msg.length >= 60) {
          const protocol = msg[36] === 6 ? "tcp" : "udp"
          const request = {
            version: 2,
            protocol,
            internalPort: msg.readUInt16BE(40),
            externalPort: msg.readUInt16BE(42),
            lifetime: msg.readUInt32BE(4)
          } as const
          requests.push(request)
          if (options.speaks === "silent" || (options.silentOnDelete && request.lifetime === 0)) return
          if (options.speaks === "natpmp") return reply(Buffer.from("0080000100000001", "hex"))
          const answer = Buffer.alloc(60)
          msg.copy(answer, 24, 24, 60)
          answer[0] = 2
          answer[1] = 0x81
          answer.writeUInt32BE(request.lifetime === 0 ? 0 : grant, 4)
          answer.writeUInt32BE(7, 8)
          answer.writeUInt16BE(request.internalPort + 1000, 42)
          answer.fill(0, 44, 54)
          answer[54] = 0xff
          answer[55] = 0xff
          Buffer.from(EXTERNAL).copy(answer, 56)
          return reply(answer)
        }
        if (msg[0] === 0 && msg.length === 2) {
          requests.push({ version: 0, protocol: "external", internalPort: 0, externalPort: 0, lifetime: 0 })
          if (options.speaks === "silent") return
          return reply(Buffer.concat([Buffer.from("0080000000000007", "hex"), Buffer.from(EXTERNAL)]))
        }
        if (msg[0] === 0 && msg.length === 12) {
          const request = {
            version: 0,
            protocol: msg[1] === 1 ? "udp" : "tcp",
            internalPort: msg.readUInt16BE(4),
            externalPort: msg.readUInt16BE(6),
            lifetime: msg.readUInt32BE(8)
          } as const
          requests.push(request)
          if (options.speaks === "silent") return
          const answer = Buffer.alloc(16)
          answer[1] = 128 + msg[1]!
          answer.writeUInt32BE(7, 4)
          answer.writeUInt16BE(request.internalPort, 8)
          answer.writeUInt16BE(request.lifetime === 0 ? 0 : request.internalPort + 1000, 10)
          answer.writeUInt32BE(request.lifetime === 0 ? 0 : grant, 12)
          return reply(answer)
        }
      })
      socket.bind(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          port: (socket.address() as AddressInfo).port,
          requests,
          close: () => {
            socket.close()
            elsewhere.close()
          }
        })))
    }),
    (gateway) => Effect.sync(gateway.close)
  )

export interface SoapCall {
  readonly action: string
  readonly args: Record<string, string>
}

export interface FakeIgdOptions {
  /** Refuse leases other than 0 with error 725. */
  readonly onlyPermanent?: boolean
  /** Serve this as the description instead of a proper one. */
  readonly description?: string
  /** The host the SSDP answer's LOCATION names (default 127.0.0.1, the responder's own). */
  readonly locationHost?: string
  /** Do not answer SSDP searches. */
  readonly silent?: boolean
  readonly serviceType?: string
}

const descriptionXml = (serviceType: string) => `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>${serviceType}</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL></service>
</serviceList></device></deviceList></device></deviceList></device></root>`

const envelope = (inner: string) =>
  `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ` +
  `s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>${inner}</s:Body></s:Envelope>`

/** An IGD: SSDP responder and HTTP server on 127.0.0.1, closed with the scope. */
export const fakeIgd = (options: FakeIgdOptions = {}) =>
  Effect.acquireRelease(
    Effect.async<{ ssdpPort: number; searches: Array<string>; calls: Array<SoapCall>; close: () => void }>((resume) => {
      const searches: Array<string> = []
      const calls: Array<SoapCall> = []
      const serviceType = options.serviceType ?? "urn:schemas-upnp-org:service:WANIPConnection:1"
      const server = http.createServer((req, res) => {
        let body = ""
        req.on("data", (chunk: Buffer) => (body += chunk.toString()))
        req.on("end", () => {
          if (req.method === "GET" && req.url === "/rootDesc.xml") {
            res.writeHead(200, { "content-type": "text/xml" })
            return res.end(options.description ?? descriptionXml(serviceType))
          }
          if (req.method === "POST" && req.url === "/ctl/IPConn") {
            const action = /#(\w+)"?$/.exec(String(req.headers.soapaction))?.[1] ?? "?"
            const args: Record<string, string> = {}
            for (const m of body.matchAll(/<(New\w+)>([^<]*)<\/\1>/g)) args[m[1]!] = m[2]!
            calls.push({ action, args })
            if (action === "AddPortMapping" && options.onlyPermanent && args.NewLeaseDuration !== "0") {
              res.writeHead(500, { "content-type": "text/xml" })
              return res.end(envelope(
                `<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>` +
                  `<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>725</errorCode>` +
                  `<errorDescription>OnlyPermanentLeasesSupported</errorDescription></UPnPError></detail></s:Fault>`
              ))
            }
            const out = action === "GetExternalIPAddress" ? `<NewExternalIPAddress>${EXTERNAL.join(".")}</NewExternalIPAddress>` : ""
            res.writeHead(200, { "content-type": "text/xml" })
            return res.end(envelope(`<u:${action}Response xmlns:u="${serviceType}">${out}</u:${action}Response>`))
          }
          res.writeHead(404)
          res.end()
        })
      })
      const ssdp = dgram.createSocket("udp4")
      server.listen(0, "127.0.0.1", () => {
        const httpPort = (server.address() as AddressInfo).port
        ssdp.on("message", (msg, from) => {
          const text = msg.toString()
          searches.push(text)
          if (options.silent || !text.startsWith("M-SEARCH")) return
          const st = /ST: (.*)\r\n/.exec(text)?.[1] ?? ""
          ssdp.send(
            `HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: ${st}\r\nUSN: uuid:fake::${st}\r\n` +
              `LOCATION: http://${options.locationHost ?? "127.0.0.1"}:${httpPort}/rootDesc.xml\r\n\r\n`,
            from.port,
            from.address
          )
        })
        ssdp.bind(0, "127.0.0.1", () =>
          resume(Effect.succeed({
            ssdpPort: (ssdp.address() as AddressInfo).port,
            searches,
            calls,
            close: () => {
              ssdp.close()
              server.closeAllConnections()
              server.close()
            }
          })))
      })
    }),
    (igd) => Effect.sync(igd.close)
  )
