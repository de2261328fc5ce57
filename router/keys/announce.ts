/**
 * What a server announces, computed from its key directory: the Merkle root of
 * mceliece_pk || x25519_pk is the identity that goes into the pq1 label (pq1-protocol.md 5.2).
 */
import {base32Encode} from '../../src/dns/base32.js'
import {planAnnouncement, type AnnouncementPlan} from '../../src/dns/records.js'
import {merkleRoot} from '../../src/keys/merkle.js'
import {readPublicKeys} from './keydir.js'

export interface ServerAnnouncement extends AnnouncementPlan {
  keyHashHex: string
  keyHashBase32: string
  pqcPort: number
  keyPort: number
}

export function keyHashOfKeyDir(keydir: string): Uint8Array {
  const pub = readPublicKeys(keydir)
  return merkleRoot(pub.mceliecePk, pub.x25519Pk)
}

export function announceServer(options: {
  keyHash: Uint8Array; name: string; pqcPort: number; keyPort: number; portsInLabel: boolean; addresses: string[]
}): ServerAnnouncement {
  const plan = planAnnouncement(options)
  return {
    ...plan,
    keyHashHex: Buffer.from(options.keyHash).toString('hex'),
    keyHashBase32: base32Encode(options.keyHash),
    pqcPort: options.pqcPort,
    keyPort: options.keyPort,
  }
}
