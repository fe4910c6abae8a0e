/** The Client service: many torrents, one port, one DHT node and UDP socket; queue, limits, persistence. */
export * from "./Client.js"
export { type ClientConfig, layer, make } from "./make.js"
export { layerTest, trackersGiving } from "./layerTest.js"
export { layerMemoryFileSystem, makeMemoryFileSystem } from "./MemoryFileSystem.js"
export { defaultSessionSettings } from "./settings.js"
