/**
 * ChaCha20-Poly1305-IETF adapter: RFC 8439 section 2.8.2 (seal) and appendix A.5 (open), tag
 * failures as undefined/false, the zero-nonce default of pq1 and the buffer-reusing forms used on
 * the tunnel path (header as AD, ciphertext and tag written in place).
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {LocalError} from '../../../src/errors.js'
import {chacha20Poly1305, open, openInto, seal, sealInto} from '../../../src/crypto/aead.js'
import {hex, unhex} from '../../helpers/hex.js'

// RFC 8439 section 2.8.2.
const S282 = {
  key: unhex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'),
  nonce: unhex('070000004041424344454647'),
  ad: unhex('50515253c0c1c2c3c4c5c6c7'),
  plaintext: Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.", 'ascii'),
  ciphertext: 'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36'
    + '92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116',
  tag: '1ae10b594f09e26a7e902ecbd0600691',
}

// RFC 8439 appendix A.5.
const A5 = {
  key: unhex('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0'),
  nonce: unhex('000000000102030405060708'),
  ad: unhex('f33388860000000000004e91'),
  ciphertext: unhex(`
    64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf
    332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4
    b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a
    0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29
    a6ad5cb4022b02709b`),
  tag: unhex('eead9d67890cbb22392336fea1851f38'),
  plaintext: 'Internet-Drafts are draft documents valid for a maximum of six months and may be updated, replaced, or obsoleted by other '
    + 'documents at any time. It is inappropriate to use Internet-Drafts as reference material or to cite them other than as '
    + '/\u201cwork in progress./\u201d',
}

test('RFC 8439 section 2.8.2: seal gives the published ciphertext and tag, open reverses it', () => {
  const {ciphertext, tag} = seal(S282.key, S282.plaintext, S282.ad, S282.nonce)
  assert.equal(hex(ciphertext), S282.ciphertext)
  assert.equal(hex(tag), S282.tag)
  assert.equal(open(S282.key, ciphertext, tag, S282.ad, S282.nonce)?.toString('ascii'), S282.plaintext.toString('ascii'))
})

test('RFC 8439 appendix A.5: open gives the published plaintext', () => {
  const plaintext = open(A5.key, A5.ciphertext, A5.tag, A5.ad, A5.nonce)
  assert.ok(plaintext)
  assert.equal(plaintext.toString('utf8'), A5.plaintext)
})

test('any change to ciphertext, tag, AD, nonce or key: undefined, never an exception', () => {
  const ct = Buffer.from(S282.ciphertext, 'hex')
  const tag = unhex(S282.tag)
  const flip = (b: Uint8Array, i: number): Buffer => { const c = Buffer.from(b); c[i]! ^= 1; return c }
  assert.equal(open(S282.key, flip(ct, 0), tag, S282.ad, S282.nonce), undefined)
  assert.equal(open(S282.key, ct, flip(tag, 15), S282.ad, S282.nonce), undefined)
  assert.equal(open(S282.key, ct, tag, flip(S282.ad, 3), S282.nonce), undefined)
  assert.equal(open(S282.key, ct, tag, null, S282.nonce), undefined)
  assert.equal(open(S282.key, ct, tag, S282.ad, flip(S282.nonce, 11)), undefined)
  assert.equal(open(flip(S282.key, 31), ct, tag, S282.ad, S282.nonce), undefined)
  assert.equal(open(S282.key, ct, tag.subarray(0, 15), S282.ad, S282.nonce), undefined, 'short tag')
  assert.equal(open(S282.key, ct, Buffer.alloc(0), S282.ad, S282.nonce), undefined, 'empty tag')
  assert.equal(open(S282.key, ct.subarray(1), tag, S282.ad, S282.nonce), undefined, 'truncated ciphertext')
})

test('the nonce defaults to twelve zero bytes (pq1 sections 6.2 and 7.3)', () => {
  const key = Buffer.alloc(32, 7)
  const a = seal(key, Buffer.from('epk'), null)
  const b = seal(key, Buffer.from('epk'), null, new Uint8Array(12))
  assert.equal(hex(a.ciphertext) + hex(a.tag), hex(b.ciphertext) + hex(b.tag))
  assert.equal(open(key, a.ciphertext, a.tag, null)?.toString(), 'epk')
  assert.equal(open(key, a.ciphertext, a.tag, null, unhex('000000000000000000000001')), undefined)
  const empty = seal(key, new Uint8Array(0), Buffer.from('header'))
  assert.equal(empty.ciphertext.length, 0)
  assert.equal(open(key, empty.ciphertext, empty.tag, Buffer.from('header'))?.length, 0, 'empty plaintext (keepalive)')
})

test('seal and open in place inside one datagram buffer: header as AD, then ciphertext, then tag', () => {
  const key = S282.key
  const header = Buffer.alloc(40, 0x02)
  const len = S282.plaintext.length
  const packet = Buffer.alloc(40 + len + 16)
  header.copy(packet, 0)
  S282.plaintext.copy(packet, 40)
  const body = packet.subarray(40, 40 + len)
  sealInto(body, packet.subarray(40 + len), key, body, packet.subarray(0, 40))
  const reference = seal(key, S282.plaintext, header)
  assert.equal(hex(body), hex(reference.ciphertext))
  assert.equal(hex(packet.subarray(40 + len)), hex(reference.tag))

  assert.equal(openInto(body, key, body, packet.subarray(40 + len), packet.subarray(0, 40)), true)
  assert.equal(body.toString('ascii'), S282.plaintext.toString('ascii'))

  // A forged datagram: false, and libsodium zeroes the output (here: the datagram body).
  sealInto(body, packet.subarray(40 + len), key, body, packet.subarray(0, 40))
  packet[0]! ^= 1
  assert.equal(openInto(body, key, body, packet.subarray(40 + len), packet.subarray(0, 40)), false)
  assert.equal(hex(body), '00'.repeat(len))
})

test('reusable output buffers: sealInto/openInto write exactly where asked', () => {
  const key = Buffer.alloc(32, 1)
  const pt = Buffer.from('0123456789')
  const ct = Buffer.alloc(10)
  const tag = Buffer.alloc(16)
  for (let i = 0; i < 3; i++) {
    sealInto(ct, tag, key, pt, null)
    const out = Buffer.alloc(10, 0xff)
    assert.equal(openInto(out, key, ct, tag, null), true)
    assert.equal(out.toString(), '0123456789')
  }
})

test('wrong key, nonce or output lengths are caller bugs: LocalError', () => {
  const pt = Buffer.from('x')
  assert.throws(() => seal(Buffer.alloc(31), pt, null), LocalError)
  assert.throws(() => seal(Buffer.alloc(32), pt, null, Buffer.alloc(8)), LocalError)
  assert.throws(() => sealInto(Buffer.alloc(2), Buffer.alloc(16), Buffer.alloc(32), pt, null), LocalError)
  assert.throws(() => sealInto(Buffer.alloc(1), Buffer.alloc(15), Buffer.alloc(32), pt, null), LocalError)
  assert.throws(() => open(Buffer.alloc(33), pt, Buffer.alloc(16), null), LocalError)
  assert.throws(() => openInto(Buffer.alloc(2), Buffer.alloc(32), pt, Buffer.alloc(16), null), LocalError)
})

test('the Aead object of interfaces.ts: ciphertext || tag, zero nonce, in place, never throws on wire input', () => {
  const key = S282.key
  const pt = S282.plaintext
  const sealed = chacha20Poly1305.seal(key, S282.ad, pt)
  const detached = seal(key, pt, S282.ad)
  assert.equal(hex(sealed), hex(detached.ciphertext) + hex(detached.tag))
  assert.equal(Buffer.from(chacha20Poly1305.open(key, S282.ad, sealed)!).toString('ascii'), pt.toString('ascii'))

  const buf = Buffer.alloc(pt.length + 16)
  pt.copy(buf)
  chacha20Poly1305.sealInto!(buf, key, S282.ad, buf.subarray(0, pt.length))
  assert.equal(hex(buf), hex(sealed))
  const out = Buffer.alloc(pt.length)
  assert.equal(chacha20Poly1305.openInto!(out, key, S282.ad, buf), true)
  assert.equal(out.toString('ascii'), pt.toString('ascii'))

  const forged = Buffer.from(sealed)
  forged[forged.length - 1]! ^= 0x80
  assert.equal(chacha20Poly1305.open(key, S282.ad, forged), undefined)
  assert.equal(chacha20Poly1305.open(key, S282.ad, sealed.subarray(0, 15)), undefined, 'shorter than a tag')
  assert.equal(chacha20Poly1305.openInto!(Buffer.alloc(3), key, S282.ad, sealed), false, 'output of the wrong size')
  assert.equal(chacha20Poly1305.openInto!(Buffer.alloc(0), key, S282.ad, sealed.subarray(0, 10)), false)
  assert.throws(() => chacha20Poly1305.sealInto!(Buffer.alloc(pt.length), key, S282.ad, pt), LocalError)
})
