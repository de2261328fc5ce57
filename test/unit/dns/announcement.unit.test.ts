import assert from 'node:assert/strict'
import {test} from 'node:test'

import {
  encodePort, formatAnnouncementLabel, parseAnnouncementLabel, parseAnnouncementName,
} from '../../../src/dns/announcement.js'
import {hex, unhex} from '../../helpers/hex.js'

const PQCONNECT_NET = 'pq1u1hy1ujsuk258krx3ku6wd9rp96kfxm64mgct3s3j26udp57dbu1'
const PQCONNECT_NET_HASH = '3a3c1f34c43a8a82e2ed236ac359ba3599d8fa3464ba95071e5018cd6a394ce9'

test('the pqconnect.net name gives its key hash (section 12.2)', () => {
  const a = parseAnnouncementName(`${PQCONNECT_NET}.pqconnect.net`)!
  assert.equal(hex(a.keyHash), PQCONNECT_NET_HASH)
  assert.equal(a.pqcPort, undefined)
  assert.equal(a.keyPort, undefined)
})

test('the same label with zzz1zzz1 carries ports 65535/65535', () => {
  const a = parseAnnouncementLabel(`${PQCONNECT_NET}zzz1zzz1`)!
  assert.equal(hex(a.keyHash), PQCONNECT_NET_HASH)
  assert.equal(a.pqcPort, 65535)
  assert.equal(a.keyPort, 65535)
})

test('port table of section 2.1', () => {
  const table: Array<[number, string]> = [[42424, '55g1'], [42425, '5fg1'], [624, '20w0'], [584, '20l0'], [443, '1sg1'], [65535, 'zzz1']]
  for (const [port, text] of table) assert.equal(encodePort(port), text, String(port))
})

test('default-port label of the pqconnect.net key (section 2.1)', () => {
  const label = formatAnnouncementLabel(unhex(PQCONNECT_NET_HASH), {pqcPort: 42424, keyPort: 42425})
  assert.equal(label, 'pq1u1hy1ujsuk258krx3ku6wd9rp96kfxm64mgct3s3j26udp57dbu155g15fg1')
  assert.equal(label.length, 63)
  assert.equal(formatAnnouncementLabel(unhex(PQCONNECT_NET_HASH)), PQCONNECT_NET)
  const back = parseAnnouncementLabel(label)!
  assert.equal(back.pqcPort, 42424)
  assert.equal(back.keyPort, 42425)
})

test('parsing is case-insensitive, anywhere in the name', () => {
  const a = parseAnnouncementName(`www.${PQCONNECT_NET.toUpperCase()}.example.org`)!
  assert.equal(hex(a.keyHash), PQCONNECT_NET_HASH)
  assert.equal(hex(parseAnnouncementLabel('PQ1' + PQCONNECT_NET.slice(3) + '55G15FG1')!.keyHash), PQCONNECT_NET_HASH)
})

test('invalid labels are not announcements and never throw', () => {
  const bad = [
    '', 'pq1', 'www', PQCONNECT_NET.slice(0, 54), `${PQCONNECT_NET}0`, `${PQCONNECT_NET}zzz1`,
    PQCONNECT_NET.replace('u1hy', 'a1hy'), PQCONNECT_NET.replace('u1hy', 'e1hy'),
    PQCONNECT_NET.replace('u1hy', 'i1hy'), PQCONNECT_NET.replace('u1hy', 'o1hy'),
    'pq2' + PQCONNECT_NET.slice(3), // unsupported version
    'pqx' + PQCONNECT_NET.slice(3),
    PQCONNECT_NET.slice(0, 54) + '2', // overflowing last character
    `${PQCONNECT_NET}00000000`, // port 0
    `${PQCONNECT_NET}zzz2zzz1`, // overflowing port
  ]
  for (const label of bad) {
    assert.equal(parseAnnouncementLabel(label), undefined, label)
    assert.equal(parseAnnouncementName(`${label}.example.org`), undefined, label)
  }
  assert.equal(parseAnnouncementName('plain.example.org'), undefined)
})
