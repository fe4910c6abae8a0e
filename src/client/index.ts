/** The Client service: many torrents, one port, one DHT node and UDP socket; queue, limits, persistence. */
export * from "./Client.js"
