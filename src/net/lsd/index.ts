export * from "./codec.js"
export * from "./Lsd.js"
export { LsdError } from "./LsdError.js"
