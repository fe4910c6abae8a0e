/**
 * Message Stream Encryption / Protocol Encryption (the Vuze/libtorrent/Transmission spec): the key exchange, RC4
 * and both handshake state machines, pure (no sockets). See protocol.ts for the message layout.
 */
export { generateKeyPair, KEY_LENGTH, type KeyPair, keyPairFrom, PRIVATE_KEY_LENGTH, sharedSecret } from "./dh.js"
export { looksLikePlaintextHandshake } from "./detect.js"
export { MseInitiator, type MseInitiatorDone, type MseInitiatorOptions, type MseInitiatorStage } from "./initiator.js"
export {
  type Cipher,
  CryptoMethod,
  MAX_INITIAL_PAYLOAD,
  MAX_PAD,
  type Methods,
  type MseStep,
  obfuscatedInfoHash,
  type Pad,
  type PadLength,
  type PayloadStreams
} from "./protocol.js"
export { Rc4 } from "./rc4.js"
export {
  type FindTorrent,
  MseResponder,
  type MseResponderDone,
  type MseResponderOptions,
  type MseResponderStage,
  type SelectMethod,
  selectMethod
} from "./responder.js"
