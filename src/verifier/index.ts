export { layerThreads } from "./NodeThreads.js"
export { layer, Verifier, type VerifyOptions } from "./Verifier.js"
export { type Expected, passes } from "./check.js"
