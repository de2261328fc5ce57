/**
 * The pieces of `pqc server check` that need no network: the DNS question it sends (parsed back
 * with the proxy's wire reader), the progress line, and the checklist text with its fix lines.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {printReport, progressLine} from '../../../oclif/commands/server/check.js'
import {encodeQuery} from '../../../router/check/dns-lookup.js'
import type {ServerCheckReport} from '../../../router/check/server-check.js'
import {FLAG_RD, TYPE_A, TYPE_TXT, parseMessage} from '../../../src/dns/wire.js'

test('the question: one A or TXT question with recursion desired and an EDNS OPT record', () => {
  const q = encodeQuery(0x1234, 'WWW.Example.org.', TYPE_A)!
  const m = parseMessage(q)!
  assert.equal(m.id, 0x1234)
  assert.equal(m.flags & FLAG_RD, FLAG_RD)
  assert.equal(m.questions.length, 1)
  assert.equal(m.questions[0]!.lname, 'www.example.org')
  assert.equal(m.questions[0]!.type, TYPE_A)
  assert.equal(m.opt?.udpSize, 1232)
  assert.equal(parseMessage(encodeQuery(1, 'ks.pq1x.example.org', TYPE_TXT)!)!.questions[0]!.type, TYPE_TXT)
  assert.equal(encodeQuery(1, `${'a'.repeat(64)}.example.org`, TYPE_A), undefined, 'a label over 63 bytes')
})

test('the progress line names the level, the share of nodes and the requests', () => {
  assert.equal(progressLine({depth: 2, leafDepth: 3, nodesDone: 469, nodesTotal: 938, requests: 500}),
    'key download: level 2 of 3, 50% of 938 nodes, 500 requests')
})

test('the checklist: OK/FAIL/SKIP per step, a fix line under each failure, a verdict', () => {
  const r: ServerCheckReport = {
    name: 'www.example.org', dnsServer: '192.0.2.53:53', ok: false, chain: ['www.example.org'], steps: [
      {id: 'dns', title: 'DNS look-up', status: 'ok', detail: 'www.example.org: A 203.0.113.9'},
      {id: 'announcement', title: 'pq1 announcement', status: 'fail', detail: 'no pq1 label in the CNAME chain of www.example.org', hint: 'add the CNAME record', code: 'PQC_ERR_NOT_ANNOUNCED'},
      {id: 'static-key', title: 'static key', status: 'skip', detail: 'not checked: an earlier step failed'},
    ],
  }
  const lines: string[] = []
  printReport({log: (m) => lines.push(m)}, r, '192.0.2.53:53')
  assert.deepEqual(lines, [
    'checking www.example.org through DNS server 192.0.2.53:53',
    'OK   DNS look-up      www.example.org: A 203.0.113.9',
    'FAIL pq1 announcement no pq1 label in the CNAME chain of www.example.org',
    '                      fix: add the CNAME record',
    'SKIP static key       not checked: an earlier step failed',
    'www.example.org: 1 problem(s) found',
  ])
})
