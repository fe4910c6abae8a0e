/** Web seeds (BEP 19): HTTP servers holding a torrent's files, used as seeds that are always unchoked. */
export { isPrivateHost, publicToPrivate } from "./address.js"
export { type BlockRun, blockRuns, type FileSpan, splitAtFiles } from "./ranges.js"
export { runWebSeed, type WebSeedHost, type WebSeedInfo, WebSeedSource, type WebSeedState } from "./source.js"
export { fileUrl, parseWebSeedUrl } from "./url.js"
export { layer, layerConfig, make, parseRetryAfter, type RangeRequest, WebSeed } from "./WebSeed.js"
export { defaultWebSeedConfig, type WebSeedConfig } from "./WebSeedConfig.js"
export { retryable, WebSeedError, type WebSeedErrorReason } from "./WebSeedError.js"
