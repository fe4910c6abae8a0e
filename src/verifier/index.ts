export { layer, Verifier } from "./Verifier.js"
