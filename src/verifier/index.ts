export { layerThreads } from "./NodeThreads.js"
export { layer, Verifier } from "./Verifier.js"
