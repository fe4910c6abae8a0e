/**
 * BitTorrent v2 hash messages (BEP 52): `hash request` (id 21), `hashes` (22) and `hash reject` (23), and the two
 * halves of using them: answering a request from a file's merkle tree (server), and checking an answer against the
 * file's root (requester). Pure: no I/O. The session speaks them through
 * `session/HashExchange.ts`.
 *
 * Each message starts with the same 48 bytes: `pieces root` (32), `base layer`, `index`, `length`, `proof layers`
 * (each a big-endian u32). `base layer` counts up from the 16 KiB leaves (0); `length` hashes of that layer starting
 * at `index` are asked for, `length` a power of two from 2 and `index` a multiple of it (so they make a whole
 * subtree). `proof layers` counts layers from the base layer up, the root's excluded, as libtorrent 2.0 reads it (the
 * reference implementation): those inside the subtree need no hashes (the base hashes make them), so the answer
 * carries `proof layers - log2(length) + 1` uncle hashes (none if that is below 1), bottom first, after the base
 * hashes. A proof all the way to the root asks for `tree height - base layer - 1` layers.
 */
import * as Either from "effect/Either"
import { HASH_SIZE, log2, padHash, rootOf, treeLayers, verifyProof } from "../metainfo/merkle.js"
import { WireError } from "./WireError.js"

export const HASH_REQUEST_ID = 21
export const HASHES_ID = 22
export const HASH_REJECT_ID = 23
/** The most hashes one request may ask for (BEP 52 lets a peer reject more than 8192). */
export const MAX_HASH_REQUEST_LENGTH = 8192

export interface HashRequest {
  readonly piecesRoot: Uint8Array
  readonly baseLayer: number
  readonly index: number
  readonly length: number
  readonly proofLayers: number
}

const HEADER = 48

const header = (id: number, request: HashRequest, extra: number): Uint8Array => {
  const out = new Uint8Array(4 + 1 + HEADER + extra)
  const view = new DataView(out.buffer)
  view.setUint32(0, 1 + HEADER + extra)
  out[4] = id
  out.set(request.piecesRoot.subarray(0, HASH_SIZE), 5)
  view.setUint32(37, request.baseLayer)
  view.setUint32(41, request.index)
  view.setUint32(45, request.length)
  view.setUint32(49, request.proofLayers)
  return out
}

/** A whole `hash request` message, length prefix included. */
export const encodeHashRequest = (request: HashRequest): Uint8Array => header(HASH_REQUEST_ID, request, 0)

/** A whole `hash reject` message: the request it refuses, echoed. */
export const encodeHashReject = (request: HashRequest): Uint8Array => header(HASH_REJECT_ID, request, 0)

/** A whole `hashes` message: the request answered, then `hashes` (base hashes and uncles, 32 bytes each). */
export const encodeHashes = (request: HashRequest, hashes: Uint8Array): Uint8Array => {
  const out = header(HASHES_ID, request, hashes.length)
  out.set(hashes, 5 + HEADER)
  return out
}

const bad = (detail: string) => Either.left(new WireError({ reason: "BadHashes", detail }))

const readHeader = (payload: Uint8Array): HashRequest => {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  return {
    piecesRoot: payload.subarray(0, HASH_SIZE),
    baseLayer: view.getUint32(32),
    index: view.getUint32(36),
    length: view.getUint32(40),
    proofLayers: view.getUint32(44)
  }
}

/** The payload (after the id) of a `hash request` or `hash reject`: exactly 48 bytes. */
export const decodeHashRequest = (payload: Uint8Array): Either.Either<HashRequest, WireError> =>
  payload.length === HEADER
    ? Either.right(readHeader(payload))
    : bad(`a hash request or reject of ${payload.length} bytes, not 48`)

/** The payload of a `hashes` message: the request, and a whole number of hashes after it. */
export const decodeHashes = (
  payload: Uint8Array
): Either.Either<{ readonly request: HashRequest; readonly hashes: Uint8Array }, WireError> =>
  payload.length < HEADER || (payload.length - HEADER) % HASH_SIZE !== 0
    ? bad(`a hashes message of ${payload.length} bytes is not 48 plus whole 32-byte hashes`)
    : Either.right({ request: readHeader(payload), hashes: payload.subarray(HEADER) })

/** The uncle hashes a `hashes` answer to `request` carries after its base hashes (see above). */
export const uncleCount = (request: HashRequest): number => Math.max(0, request.proofLayers - log2(request.length) + 1)

/** Why a request is not one to answer for a file whose tree is `width` leaves wide, or `undefined` if it is. */
export const hashRequestProblem = (request: HashRequest, width: number): string | undefined => {
  const { baseLayer, index, length, proofLayers } = request
  const height = log2(width)
  if (length < 2 || (length & (length - 1)) !== 0 || length > MAX_HASH_REQUEST_LENGTH) {
    return `asks for ${length} hashes, not a power of two from 2 to ${MAX_HASH_REQUEST_LENGTH}`
  }
  if (index % length !== 0) return `starts at ${index}, not a multiple of its length ${length}`
  if (baseLayer >= height) return `asks for layer ${baseLayer} of a tree ${height} layers high`
  const layerWidth = width / 2 ** baseLayer
  if (index + length > layerWidth) return `runs past the ${layerWidth} nodes of layer ${baseLayer}`
  if (proofLayers > height - baseLayer - 1) return `asks for ${proofLayers} proof layers, more than there are`
  return undefined
}

/**
 * The `hashes` answer to `request` from a file's leaf hashes (`width` leaves wide): the base hashes asked for
 * (padding nodes where the layer runs past the file), then the uncles of their subtree (`uncleCount`), bottom first.
 * Fails with the reason the request cannot be answered (send a `hash reject`).
 */
export const answerHashRequest = (
  leaves: Uint8Array,
  width: number,
  request: HashRequest
): Either.Either<Uint8Array, WireError> => answerFromTree(treeLayers(leaves, width), 0, width, request)

/**
 * The same from the layers of a file's tree from `height` up (`treeLayers(base, width / 2^height, height)`), as a
 * seeder that has only the piece layer holds them: requests for layers below `height` are refused.
 */
export const answerFromTree = (
  layers: ReadonlyArray<Uint8Array>,
  height: number,
  width: number,
  request: HashRequest
): Either.Either<Uint8Array, WireError> => {
  const problem = hashRequestProblem(request, width)
  if (problem !== undefined) return bad(`a hash request that ${problem}`)
  if (request.baseLayer < height) return bad(`a hash request for layer ${request.baseLayer}, below the ${height} we hold`)
  const base = layers[request.baseLayer - height]!
  const uncles = uncleCount(request)
  const out = new Uint8Array((request.length + uncles) * HASH_SIZE)
  for (let i = 0; i < request.length; i++) {
    const at = (request.index + i) * HASH_SIZE
    out.set(at < base.length ? base.subarray(at, at + HASH_SIZE) : padHash(request.baseLayer), i * HASH_SIZE)
  }
  const top = request.baseLayer + log2(request.length)
  for (let level = 0, node = request.index / request.length; level < uncles; level++, node >>= 1) {
    const layer = layers[top - height + level]!
    const at = (node ^ 1) * HASH_SIZE
    out.set(at < layer.length ? layer.subarray(at, at + HASH_SIZE) : padHash(top + level), (request.length + level) * HASH_SIZE)
  }
  return Either.right(out)
}

/**
 * Checks a `hashes` answer against the file's `root` (tree `width` leaves wide): the base hashes hash up to a
 * subtree root, which with the uncles (all the way up: `proofLayers` must reach the root here) gives `root`.
 * Returns the base hashes, now trusted.
 */
export const checkHashes = (
  request: HashRequest,
  hashes: Uint8Array,
  root: Uint8Array,
  width: number
): Either.Either<Uint8Array, WireError> => {
  const problem = hashRequestProblem(request, width)
  if (problem !== undefined) return bad(`hashes for a request that ${problem}`)
  const count = uncleCount(request)
  if (hashes.length !== (request.length + count) * HASH_SIZE) {
    return bad(`${hashes.length / HASH_SIZE} hashes for a request of ${request.length} and ${request.proofLayers} proof layers`)
  }
  const top = request.baseLayer + log2(request.length)
  if (top + count !== log2(width)) return bad("hashes whose proof does not reach the root")
  const base = hashes.subarray(0, request.length * HASH_SIZE)
  const subtree = rootOf(base, request.length, request.baseLayer)
  const uncles = Array.from({ length: count }, (_, i) =>
    hashes.subarray((request.length + i) * HASH_SIZE, (request.length + i + 1) * HASH_SIZE))
  return verifyProof(subtree, request.index / request.length, uncles, root)
    ? Either.right(base)
    : bad("hashes that do not verify against the file's root")
}
