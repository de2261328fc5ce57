import assert from 'node:assert/strict'
import {test} from 'node:test'

import {parseAnnouncementName} from '../../../src/dns/announcement.js'
import {formatZoneLines, planAnnouncement} from '../../../src/dns/records.js'
import {hex, unhex} from '../../helpers/hex.js'

const HASH = unhex('3a3c1f34c43a8a82e2ed236ac359ba3599d8fa3464ba95071e5018cd6a394ce9')

test('ports in the label: CNAME to the 63-character name, which owns the A record', () => {
  const plan = planAnnouncement({name: 'www.example.org', keyHash: HASH, pqcPort: 42424, keyPort: 42425, portsInLabel: true, addresses: ['203.0.113.9']})
  assert.equal(plan.label, 'pq1u1hy1ujsuk258krx3ku6wd9rp96kfxm64mgct3s3j26udp57dbu155g15fg1')
  assert.equal(plan.pq1Name, `${plan.label}.example.org.`)
  assert.deepEqual(plan.records, [
    {name: 'www.example.org.', type: 'CNAME', value: plan.pq1Name},
    {name: plan.pq1Name, type: 'A', value: '203.0.113.9'},
  ])
  // What a client parses from the published name is what we announced.
  const parsed = parseAnnouncementName(plan.pq1Name)!
  assert.equal(hex(parsed.keyHash), hex(HASH))
  assert.equal(parsed.pqcPort, 42424)
  assert.equal(parsed.keyPort, 42425)
})

test('no ports in the label: 55 characters plus the p= and ks. TXT records', () => {
  const plan = planAnnouncement({name: 'www.example.org.', keyHash: HASH, pqcPort: 624, keyPort: 584, portsInLabel: false, addresses: ['203.0.113.9', '2001:db8::9']})
  assert.equal(plan.label.length, 55)
  assert.deepEqual(plan.records.map((r) => [r.type, r.name, r.value]), [
    ['CNAME', 'www.example.org.', plan.pq1Name],
    ['A', plan.pq1Name, '203.0.113.9'],
    ['AAAA', plan.pq1Name, '2001:db8::9'],
    ['TXT', plan.pq1Name, '"p=624"'],
    ['TXT', `ks.${plan.pq1Name}`, '"ip=203.0.113.9;p=584"'],
  ])
  const lines = formatZoneLines(plan.records)
  assert.equal(lines.length, 5)
  assert.match(lines[0]!, /^www\.example\.org\.\s+300 IN CNAME pq1/)
})
