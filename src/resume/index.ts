/** Resume state: which pieces are verified on disk, kept so a restart need not hash everything again. */
export { decodeResume, encodeResume, type ResumeState } from "./ResumeState.js"
export { layerFiles, layerMemory, layerNone, makeFiles, ResumeError, ResumeStore } from "./ResumeStore.js"
