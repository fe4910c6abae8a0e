import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { parseProcNetRoute } from "../../../src/net/portmap/Gateway.js"
import {
  decodePcpMapAnswer,
  decodePmpAnswer,
  encodePcpMapRequest,
  encodePmpExternalRequest,
  encodePmpMapRequest,
  mappedAddress,
  readAddress
} from "../../../src/net/portmap/pmp.js"
import {
  addPortMappingArgs,
  decodeSearchAnswer,
  decodeSoapAnswer,
  encodeSearch,
  findWanService,
  soapRequest
} from "../../../src/net/portmap/upnp.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const bytes = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"))

describe("NAT-PMP codec (RFC 6886)", () => {
  it("encodes the external-address and mapping requests", () => {
    expect(hex(encodePmpExternalRequest())).toBe("0000")
    // version 0, opcode 2 (TCP), reserved, internal 6881, suggested external 6881, lifetime 7200.
    expect(hex(encodePmpMapRequest({ protocol: "tcp", internalPort: 6881, externalPort: 6881, lifetime: 7200 })))
      .toBe("000200001ae11ae100001c20")
    // opcode 1 (UDP); a delete is lifetime 0 and external port 0.
    expect(hex(encodePmpMapRequest({ protocol: "udp", internalPort: 6881, externalPort: 0, lifetime: 0 })))
      .toBe("000100001ae1000000000000")
  })

  it("decodes answers", () => {
    expect(decodePmpAnswer(bytes("0080 0000 00000005 cb007107"))).toEqual({
      kind: "external",
      result: 0,
      epoch: 5,
      address: "203.0.113.7"
    })
    expect(decodePmpAnswer(bytes("0082 0000 00000010 1ae1 1ae2 00000e10"))).toEqual({
      kind: "map",
      protocol: "tcp",
      result: 0,
      epoch: 16,
      internalPort: 6881,
      externalPort: 6882,
      lifetime: 3600
    })
    expect(decodePmpAnswer(bytes("0081 0002 00000001"))).toEqual({ kind: "error", opcode: 1, result: 2 })
    expect(decodePmpAnswer(bytes("0002 0000"))).toBe("a NAT-PMP request, not an answer")
    expect(decodePmpAnswer(bytes("0082 0000 0000"))).toBe("NAT-PMP mapping answer shorter than 16 bytes")
  })
})

describe("PCP codec (RFC 6887)", () => {
  const nonce = bytes("0102030405060708090a0b0c")

  it("encodes a MAP request: 24-byte header, 36-byte body", () => {
    const request = encodePcpMapRequest({
      protocol: "udp",
      internalPort: 6881,
      externalPort: 6881,
      lifetime: 3600,
      client: "192.168.1.20",
      nonce
    })
    expect(hex(request)).toBe(
      "02010000" + "00000e10" + "00000000000000000000ffffc0a80114" +
        "0102030405060708090a0b0c" + "11000000" + "1ae11ae1" + "00000000000000000000ffff00000000"
    )
  })

  it("decodes a MAP answer, and an error answer without a body", () => {
    const answer = bytes(
      "02810000" + "00000e10" + "0000002a" + "000000000000000000000000" +
        "0102030405060708090a0b0c" + "06000000" + "1ae11ae2" + "00000000000000000000ffffcb007107"
    )
    expect(decodePcpMapAnswer(answer)).toEqual({
      result: 0,
      lifetime: 3600,
      epoch: 42,
      nonce,
      protocol: "tcp",
      internalPort: 6881,
      externalPort: 6882,
      externalAddress: "203.0.113.7"
    })
    const refused = decodePcpMapAnswer(bytes("02810002 00000000 00000001 000000000000000000000000"))
    expect(typeof refused === "object" && refused.result).toBe(2)
    expect(decodePcpMapAnswer(bytes("0201"))).toBe("a 2-byte PCP answer is too short")
  })

  it("reads and writes IPv4-mapped addresses", () => {
    expect(readAddress(mappedAddress("10.0.0.1"))).toBe("10.0.0.1")
    expect(readAddress(bytes("20010db8000000000000000000000001"))).toBe("2001:db8:0:0:0:0:0:1")
  })

  it("decoders return a problem or a value for any bytes, never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (input) => {
        for (const decode of [decodePmpAnswer, decodePcpMapAnswer]) {
          const out = decode(input)
          expect(typeof out === "string" || typeof out === "object").toBe(true)
        }
      }),
      { numRuns: 2000 }
    )
  })
})

describe("/proc/net/route", () => {
  it("finds the lowest-metric default route and reads its little-endian gateway", () => {
    const table = [
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
      "wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
      "eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0",
      "eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0"
    ].join("\n")
    expect(parseProcNetRoute(table)).toEqual({ iface: "eth0", gateway: "10.0.0.1" })
    expect(parseProcNetRoute(table.split("\n").slice(0, 1).concat(table.split("\n")[3]!).join("\n"))).toBeUndefined()
    expect(parseProcNetRoute("")).toBeUndefined()
  })
})

const DESCRIPTION = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
 <URLBase>http://192.168.1.1:5000/</URLBase>
 <device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
  <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
   <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
    <serviceList>
     <service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>
      <controlURL>/ppp</controlURL></service>
     <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
      <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
      <controlURL>/ctl/IPConn?a=1&amp;b=2</controlURL></service>
    </serviceList></device></deviceList></device></deviceList></device></root>`

describe("UPnP IGD pieces", () => {
  it("writes an M-SEARCH and reads an SSDP answer", () => {
    expect(Buffer.from(encodeSearch("urn:schemas-upnp-org:device:InternetGatewayDevice:1", 2, { host: "239.255.255.250", port: 1900 })).toString())
      .toBe(
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\n" +
          "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n"
      )
    const answer = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nlocation:  http://192.168.1.1:5000/rootDesc.xml\r\n" +
      "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n"
    expect(decodeSearchAnswer(Buffer.from(answer))).toEqual({
      location: "http://192.168.1.1:5000/rootDesc.xml",
      target: "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
    })
    expect(decodeSearchAnswer(Buffer.from("NOTIFY * HTTP/1.1\r\n\r\n"))).toBe("not an HTTP 200 SSDP answer")
    expect(decodeSearchAnswer(Buffer.from("HTTP/1.1 200 OK\r\nLOCATION: file:///etc/passwd\r\n\r\n")))
      .toBe("an SSDP answer without an http:// LOCATION")
  })

  it("finds the preferred WAN service in a description, against URLBase", () => {
    expect(findWanService(DESCRIPTION, "http://192.168.1.1:5000/rootDesc.xml")).toEqual({
      serviceType: "urn:schemas-upnp-org:service:WANIPConnection:1",
      controlUrl: "http://192.168.1.1:5000/ctl/IPConn?a=1&b=2"
    })
    const noBase = DESCRIPTION.replace(/<URLBase>.*<\/URLBase>/, "")
    expect(findWanService(noBase, "http://10.0.0.1:1900/d.xml")).toMatchObject({ controlUrl: "http://10.0.0.1:1900/ctl/IPConn?a=1&b=2" })
    const pppOnly = DESCRIPTION.replace("WANIPConnection:1", "WANCommonInterfaceConfig:1")
    expect(findWanService(pppOnly, "http://10.0.0.1/")).toMatchObject({ serviceType: "urn:schemas-upnp-org:service:WANPPPConnection:1" })
    expect(findWanService("<root/>", "http://10.0.0.1/")).toBe(
      "the device description has no WANIPConnection or WANPPPConnection service"
    )
  })

  it("writes SOAP requests and reads answers and faults", () => {
    const request = soapRequest(
      "urn:schemas-upnp-org:service:WANIPConnection:1",
      "AddPortMapping",
      addPortMappingArgs({
        protocol: "tcp",
        externalPort: 6881,
        internalPort: 6881,
        internalClient: "192.168.1.20",
        description: "bt <&>",
        lease: 3600
      })
    )
    expect(request.soapAction).toBe("\"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping\"")
    expect(request.body).toContain(
      "<u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\"><NewRemoteHost></NewRemoteHost>" +
        "<NewExternalPort>6881</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>6881</NewInternalPort>" +
        "<NewInternalClient>192.168.1.20</NewInternalClient><NewEnabled>1</NewEnabled>" +
        "<NewPortMappingDescription>bt &lt;&amp;&gt;</NewPortMappingDescription><NewLeaseDuration>3600</NewLeaseDuration>" +
        "</u:AddPortMapping>"
    )
    const ok = `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
      <u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">
      <NewExternalIPAddress>203.0.113.7</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>`
    const answer = decodeSoapAnswer(ok, "GetExternalIPAddress")
    expect(typeof answer === "object" && answer.kind === "ok" && answer.values.get("NewExternalIPAddress")).toBe("203.0.113.7")
    const fault = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
      <faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>
      <UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>725</errorCode>
      <errorDescription>OnlyPermanentLeasesSupported</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`
    expect(decodeSoapAnswer(fault, "AddPortMapping")).toEqual({
      kind: "fault",
      code: 725,
      description: "OnlyPermanentLeasesSupported"
    })
    expect(decodeSoapAnswer("<html/>", "AddPortMapping")).toBe("the answer to AddPortMapping has no AddPortMappingResponse")
  })

  it("the XML readers return a value or a problem for any text, never throw", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(["string", "object"]).toContain(typeof findWanService(text, "http://10.0.0.1/"))
        expect(["string", "object"]).toContain(typeof decodeSoapAnswer(text, "AddPortMapping"))
        expect(["string", "object"]).toContain(typeof decodeSearchAnswer(Buffer.from(text)))
      }),
      { numRuns: 2000 }
    )
  })
})

describe("UPnP XML readers on hostile input", () => {
  it("a 64 KiB document of unclosed tags is read in linear time", () => {
    const hostile = "<service>".repeat(7000) + "<serviceType>".repeat(1000)
    const started = Date.now()
    expect(findWanService(hostile, "http://10.0.0.1/")).toBe(
      "the device description has no WANIPConnection or WANPPPConnection service"
    )
    expect(typeof decodeSoapAnswer("<s:Fault>".repeat(7000), "AddPortMapping")).toBe("string")
    // Generous: a quadratic scan takes tens of seconds here.
    expect(Date.now() - started).toBeLessThan(2000)
  })
})
