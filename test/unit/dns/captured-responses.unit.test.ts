/**
 * The captured DNS responses of pq1-protocol.md section 12.2, rebuilt byte for byte where the
 * layout matters (the pqconnect.net answer's A owner is a compression pointer into the CNAME's
 * data) and run through the resolver's chain analysis and rewrite.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import dnsPacket from 'dns-packet'

import {analyzeChain} from '../../../src/dns/chain.js'
import {rewriteAnswer} from '../../../src/dns/rewrite.js'
import {parseKeyPortTxt, txtTexts} from '../../../src/dns/txt-ports.js'
import {TYPE_A, parseMessage} from '../../../src/dns/wire.js'
import {hex} from '../../helpers/hex.js'

const PQ = 'pq1u1hy1ujsuk258krx3ku6wd9rp96kfxm64mgct3s3j26udp57dbu1'

/** www.pqconnect.net A -> CNAME (TTL 1) pq1....pqconnect.net (pointer), A (TTL 31) owned via pointer. */
function pqconnectNetCapture(): Uint8Array {
  const label = (s: string): number[] => [s.length, ...Buffer.from(s, 'latin1')]
  const out: number[] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]
  out.push(...label('www'), ...label('pqconnect'), ...label('net'), 0, 0, 1, 0, 1) // question at 12
  const cnameData = [...label(PQ), 0xc0, 16] // pq1 label, then a pointer to "pqconnect.net" (12 + 4)
  out.push(0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, cnameData.length)
  const pq1At = out.length
  out.push(...cnameData)
  out.push(0xc0, pq1At, 0, 1, 0, 1, 0, 0, 0, 31, 0, 4, 131, 155, 69, 126)
  return Uint8Array.from(out)
}

test('www.pqconnect.net: announcement through a compression pointer, hash 3a3c1f34..., address 131.155.69.126', () => {
  const bytes = pqconnectNetCapture()
  // dns-packet, an independent decoder, agrees on the layout we built.
  const d = dnsPacket.decode(Buffer.from(bytes))
  assert.deepEqual(d.answers!.map((a) => [a.type, a.name, a.type === 'A' || a.type === 'CNAME' ? a.data : '']),
    [['CNAME', 'www.pqconnect.net', `${PQ}.pqconnect.net`], ['A', `${PQ}.pqconnect.net`, '131.155.69.126']])
  const chain = analyzeChain(bytes, parseMessage(bytes)!, 'www.pqconnect.net', TYPE_A)
  assert.equal(chain.announcement?.name, `${PQ}.pqconnect.net`)
  assert.equal(hex(chain.announcement!.value.keyHash), '3a3c1f34c43a8a82e2ed236ac359ba3599d8fa3464ba95071e5018cd6a394ce9')
  assert.deepEqual(chain.addresses, ['131.155.69.126'])
  const rewritten = dnsPacket.decode(Buffer.from(rewriteAnswer(bytes, TYPE_A, chain.end, '10.43.0.2')!))
  assert.deepEqual(rewritten.answers!.map((a) => [a.type, a.type === 'A' ? a.data : '', (a as {ttl: number}).ttl]),
    [['CNAME', '', 1], ['A', '10.43.0.2', 0]])
})

test('www.jlev.in: CNAME (TTL 300) to a 55-character pq1 name with A 195.201.35.121', () => {
  const target = 'pq19hgt13tpu5jpvgltnwnu03xutulqfg8rlhhpv1c5834n74bm22x1.jlev.in'
  const bytes = dnsPacket.encode({id: 7, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{type: 'A', name: 'www.jlev.in'}],
    answers: [{type: 'CNAME', name: 'www.jlev.in', ttl: 300, data: target}, {type: 'A', name: target, ttl: 300, data: '195.201.35.121'}]})
  const chain = analyzeChain(bytes, parseMessage(bytes)!, 'www.jlev.in', TYPE_A)
  assert.equal(chain.announcement?.name, target)
  assert.equal(chain.announcement?.value.pqcPort, undefined) // ports come from the TXT records
  assert.deepEqual(chain.addresses, ['195.201.35.121'])
})

test('ks. TXT "ip=195.201.35.121;p=42425" gives key port 42425 (the ip part is ignored, as in the reference)', () => {
  const name = 'ks.pq1q4uqh5tc59xvdjud6mx518u0fcksfndwsmgcnbxj8wmypfnmjfx0.jlev.in'
  const bytes = dnsPacket.encode({id: 9, type: 'response', questions: [{type: 'TXT', name}],
    answers: [{type: 'TXT', name, ttl: 600, data: 'ip=195.201.35.121;p=42425'}]})
  assert.equal(parseKeyPortTxt(txtTexts(bytes, parseMessage(bytes)!, name)), 42425)
})

test('a plain captive-portal CNAME chain (Firefox detectportal) is left alone', () => {
  const bytes = dnsPacket.encode({id: 3, type: 'response', questions: [{type: 'A', name: 'detectportal.firefox.com'}], answers: [
    {type: 'CNAME', name: 'detectportal.firefox.com', ttl: 60, data: 'detectportal.prod.mozaws.net'},
    {type: 'CNAME', name: 'detectportal.prod.mozaws.net', ttl: 60, data: 'prod.detectportal.prod.cloudops.mozgcp.net'},
    {type: 'A', name: 'prod.detectportal.prod.cloudops.mozgcp.net', ttl: 60, data: '34.107.221.82'}]})
  const chain = analyzeChain(bytes, parseMessage(bytes)!, 'detectportal.firefox.com', TYPE_A)
  assert.equal(chain.announcement, undefined)
  assert.deepEqual(chain.addresses, ['34.107.221.82'])
})
