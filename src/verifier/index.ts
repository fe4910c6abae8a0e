export { layerThreads } from "./NodeThreads.js"
export { layer, Verifier, type VerifyOptions } from "./Verifier.js"
