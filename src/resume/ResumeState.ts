import * as Either from "effect/Either"
import { decode, encode, isBytes, isDict, isInteger, isList } from "../bencode/index.js"

/** What a torrent's resume file records: enough to trust verified pieces at the next start without hashing. */
export interface ResumeState {
  readonly infoHash: Uint8Array
  readonly pieceCount: number
  /** Verified pieces, BEP 3 bitfield layout. Only ever pieces that were hashed and flushed to disk. */
  readonly bitfield: Uint8Array
  /** Per file of the torrent (by index): its size and modification time when the state was saved, if it existed. */
  readonly files: ReadonlyArray<{ readonly size: number; readonly mtimeMs: number } | undefined>
  /** Peers that were useful, `host:port`, to try first next time. */
  readonly peers: ReadonlyArray<string>
  /**
   * A v2 torrent from a magnet link: the piece layers fetched from peers, by file (none for files without one), so
   * a restart need not fetch them again. Checked against the files' roots when read back.
   */
  readonly pieceLayers?: ReadonlyArray<Uint8Array | undefined>
}

const VERSION = 1

/** Encodes a resume state as bencode (our own format, versioned). */
export const encodeResume = (state: ResumeState): Uint8Array =>
  encode({
    version: VERSION,
    "info-hash": state.infoHash,
    pieces: state.pieceCount,
    bitfield: state.bitfield,
    // Absent files are an empty list; mtimes in whole milliseconds (filesystems give at least that).
    files: state.files.map((file) => (file === undefined ? [] : [file.size, Math.floor(file.mtimeMs)])),
    peers: [...state.peers],
    ...(state.pieceLayers === undefined ? {} : {
      "piece-layers": state.pieceLayers.map((layer) => layer ?? new Uint8Array(0))
    })
  })

/**
 * Decodes a resume file. Anything unexpected (another version, a wrong type, a bitfield of the wrong size) gives
 * `Left` with why: the caller then simply rechecks the data, so a damaged file costs time, never correctness.
 */
export const decodeResume = (bytes: Uint8Array): Either.Either<ResumeState, string> => {
  const decoded = decode(bytes)
  if (Either.isLeft(decoded)) return Either.left(decoded.left.message)
  const dict = decoded.right
  if (!isDict(dict)) return Either.left("not a dictionary")
  if (dict.get("version") !== VERSION) return Either.left("unknown version")
  const infoHash = dict.get("info-hash")
  const pieceCount = dict.get("pieces")
  const bitfield = dict.get("bitfield")
  const files = dict.get("files")
  const peers = dict.get("peers")
  const layers = dict.get("piece-layers")
  if (!isBytes(infoHash) || infoHash.length !== 20) return Either.left("bad info-hash")
  if (!isInteger(pieceCount) || pieceCount <= 0) return Either.left("bad piece count")
  if (!isBytes(bitfield) || bitfield.length !== Math.ceil(pieceCount / 8)) return Either.left("bad bitfield")
  if (!isList(files) || !isList(peers)) return Either.left("bad file or peer list")
  if (layers !== undefined && (!isList(layers) || !layers.every(isBytes))) return Either.left("bad piece layers")
  const fileStates: Array<ResumeState["files"][number]> = []
  for (const file of files) {
    if (!isList(file)) return Either.left("bad file entry")
    if (file.length === 0) {
      fileStates.push(undefined)
      continue
    }
    const [size, mtimeMs] = file
    if (!isInteger(size) || size < 0 || !isInteger(mtimeMs)) return Either.left("bad file entry")
    fileStates.push({ size, mtimeMs })
  }
  // Copies, so the state does not keep the whole file's buffer alive.
  return Either.right({
    infoHash: Uint8Array.from(infoHash),
    pieceCount,
    bitfield: Uint8Array.from(bitfield),
    files: fileStates,
    peers: peers.filter(isBytes).map((peer) => Buffer.from(peer).toString("latin1")),
    ...(layers === undefined ? {} : {
      pieceLayers: (layers as ReadonlyArray<Uint8Array>).map((layer) => (layer.length === 0 ? undefined : Uint8Array.from(layer)))
    })
  })
}
