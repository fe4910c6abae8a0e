/** The Storage service: a torrent's byte space mapped onto files, positional I/O, and a memory implementation. */
export {
  blockOffset,
  filePath,
  filePaths,
  isInside,
  pieceOffset,
  type Segment,
  segments
} from "./layout.js"
export { layerMemory, makeMemory, MemoryStorage } from "./MemoryStorage.js"
export { layer, make } from "./NodeStorage.js"
export { type ExistingFile, type OpenOptions, partFileName, Storage, type TorrentStorage } from "./Storage.js"
export { describeSystemError, StorageError, type StorageErrorReason } from "./StorageError.js"
