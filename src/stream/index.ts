export * from "./fileStream.js"
export * from "./http.js"
export * from "./range.js"
