/**
 * The resolver's test zones (dns-anchors.md row 19 names): plain names, CNAME chains, pq1 names
 * as owner, middle hop and target, with and without ports, the TXT port records, NXDOMAIN,
 * NODATA, a large answer (forces TC upstream), signed-looking records, a cross-zone (partial)
 * chain and a CNAME loop. Labels are made with the project's own pq1 codec.
 */
import {formatAnnouncementLabel} from '../../src/dns/announcement.js'

const hash = (seed: number): Uint8Array => Uint8Array.from({length: 32}, (_, i) => (seed * 37 + i * 11) & 0xff)

export const KEYS = {
  direct: hash(1),
  mid: hash(2),
  txt: hash(3),
  cross: hash(4),
  signed: hash(5),
  upper: hash(6),
}

export const LABELS = {
  /** 63 characters: hash + crypto port 624 + key port 584. */
  direct: formatAnnouncementLabel(KEYS.direct, {pqcPort: 624, keyPort: 584}),
  mid: formatAnnouncementLabel(KEYS.mid, {pqcPort: 42424, keyPort: 42425}),
  /** 55 characters: ports in TXT records. */
  txt: formatAnnouncementLabel(KEYS.txt),
  cross: formatAnnouncementLabel(KEYS.cross, {pqcPort: 443, keyPort: 444}),
  signed: formatAnnouncementLabel(KEYS.signed, {pqcPort: 624, keyPort: 584}),
  upper: formatAnnouncementLabel(KEYS.upper, {pqcPort: 624, keyPort: 584}).toUpperCase(),
}

const SIG = 'dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgbG9va3MgbGlrZSBvbmUgZm9yIHRlc3Rz'
const rrsig = (owner: string, covered: string, labels: number): string =>
  `${owner} 300 IN RRSIG ${covered} 13 ${labels} 300 20350101000000 20200101000000 4242 pqc.test. ${SIG}`

export const ZONE_MAIN = `$ORIGIN pqc.test.
$TTL 300
@ IN SOA ns.pqc.test. admin.pqc.test. 1 3600 600 86400 60
@ IN NS ns
${rrsig('@', 'SOA', 2)}
@ IN DNSKEY 257 3 13 ${SIG}
ns IN A 127.0.0.1
plain IN A 192.0.2.10
plain IN AAAA 2001:db8::10
ttl5 5 IN A 192.0.2.11
alias IN CNAME plain
alias2 IN CNAME alias
${LABELS.direct} IN A 192.0.2.20
${LABELS.direct} IN AAAA 2001:db8::20
pq-direct IN CNAME ${LABELS.direct}
pq-two IN CNAME pq-direct
pq-mid IN CNAME ${LABELS.mid}
${LABELS.mid} IN CNAME cdn
cdn IN A 192.0.2.30
cdn IN AAAA 2001:db8::30
${LABELS.txt} IN A 192.0.2.40
${LABELS.txt} IN TXT "p=624"
ks.${LABELS.txt} IN TXT "ip=192.0.2.40;p=584"
pq-txt IN CNAME ${LABELS.txt}
pq-cross IN CNAME ${LABELS.cross}.other.test.
cross IN CNAME target.other.test.
${LABELS.upper} IN A 192.0.2.70
pq-upper IN CNAME ${LABELS.upper}
signed IN A 192.0.2.80
${rrsig('signed', 'A', 3)}
pq-signed IN CNAME ${LABELS.signed}
${rrsig('pq-signed', 'CNAME', 3)}
${LABELS.signed} IN A 192.0.2.81
${rrsig(LABELS.signed, 'A', 3)}
loop1 IN CNAME loop2
loop2 IN CNAME loop1
${Array.from({length: 24}, (_, i) => `big IN TXT "${String(i).padStart(2, '0')} ${'x'.repeat(90)}"`).join('\n')}
`

export const ZONE_OTHER = `$ORIGIN other.test.
$TTL 300
@ IN SOA ns.other.test. admin.other.test. 1 3600 600 86400 30
@ IN NS ns.pqc.test.
target IN A 192.0.2.60
${LABELS.cross} IN A 192.0.2.50
`

export const ZONES = {'pqc.test': ZONE_MAIN, 'other.test': ZONE_OTHER}
