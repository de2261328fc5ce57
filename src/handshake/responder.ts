/**
 * The server side of the pq1 handshake (pq1-protocol.md section 6.4), in two stages so the
 * expensive McEliece decapsulation runs exactly once per initiation (the reference runs it once
 * per live ephemeral key, section 14 item 5) and can be scheduled on a worker:
 *   1. consumeInitiationStatic: decapsulate c0, open box1, static DH  -> a partial state;
 *   2. consumeInitiationEphemeral: try each live ephemeral key until box3 opens.
 * Bad input yields undefined, never an exception.
 */
import {shake256} from '../crypto/hash.js'
import {wipe} from '../crypto/wipe.js'
import {decodeInitiation} from '../wire/initiation.js'
import type {HandshakeCrypto, SessionSecrets} from './crypto.js'
import {mix, split} from './initiator.js'

export interface ServerStaticKeys {
  mcelieceSecret: Uint8Array
  x25519Secret: Uint8Array
}

export interface ServerEphemeralKeys {
  sntrupSecret: Uint8Array
  x25519Secret: Uint8Array
}

/** State after stage 1; owns secrets until `consumeInitiationEphemeral` or `discardPartial`. */
export interface PartialInitiation {
  /** The McEliece ciphertext: the key of the replay cache. */
  c0: Uint8Array
  box3: Uint8Array
  clientEphemeral: Uint8Array
  cs: Uint8Array
  hs: Uint8Array
}

export interface ConsumedInitiation {
  secrets: SessionSecrets
  /** Index in the ephemeral key list that completed the handshake. */
  ephemeralIndex: number
}

export async function consumeInitiationStatic(
  crypto: HandshakeCrypto, keys: ServerStaticKeys, message: Uint8Array,
): Promise<PartialInitiation | undefined> {
  const m = decodeInitiation(message)
  if (m === undefined) return undefined
  // k0 := McEliece.Dec(c0) (implicit rejection: garbage gives a pseudo-random key)
  const k0 = await crypto.skem.decapsulate(m.c0, keys.mcelieceSecret)
  // epk_i := AEAD-Open(k0, 0, ad = c0, c1 || tag1)
  const epk = crypto.open(k0, m.c0, m.box1)
  if (epk === undefined) {
    wipe(k0)
    return undefined
  }
  // HS := H(c0 || c1 || tag1); CS := KDF(1, k0, X25519(static_sk, epk_i))
  const hs = shake256(m.c0, m.box1)
  const dhS = crypto.dh(keys.x25519Secret, epk)
  if (dhS === undefined) {
    wipe(k0)
    return undefined
  }
  const cs = mix(k0, dhS)
  return {c0: Buffer.from(m.c0), box3: Buffer.from(m.box3), clientEphemeral: epk, cs, hs}
}

export async function consumeInitiationEphemeral(
  crypto: HandshakeCrypto, partial: PartialInitiation, candidates: readonly ServerEphemeralKeys[],
): Promise<ConsumedInitiation | undefined> {
  try {
    for (let i = 0; i < candidates.length; i++) {
      const eph = candidates[i]!
      // CS := KDF(1, CS, X25519(eph_sk, epk_i)) on a copy: a wrong candidate must not consume CS.
      const dhE = crypto.dh(eph.x25519Secret, partial.clientEphemeral)
      if (dhE === undefined) return undefined
      let cs = mix(Buffer.from(partial.cs), dhE)
      // c2 := AEAD-Open(CS, 0, ad = HS, c3 || tag3): fails for every key but the right one.
      const c2 = crypto.open(cs, partial.hs, partial.box3)
      if (c2 === undefined) {
        wipe(cs)
        continue
      }
      // k3 := sntrup761.Dec(c2); CS := KDF(1, CS, k3); HS := H(HS || c3 || tag3)
      const k3 = await crypto.ekem.decapsulate(c2, eph.sntrupSecret)
      cs = mix(cs, k3)
      const hs = shake256(partial.hs, partial.box3)
      return {secrets: split(cs, hs), ephemeralIndex: i}
    }
    return undefined
  } finally {
    discardPartial(partial)
  }
}

export function discardPartial(partial: PartialInitiation): void {
  wipe(partial.cs, partial.hs, partial.clientEphemeral)
}
