/**
 * The DNS records a sysadmin publishes to announce a PQConnect server (pq1-protocol.md sections
 * 2.1, 2.2 and 9.1): the service name becomes a CNAME to the pq1 name, which owns the address
 * records; with ports in the label (63 characters) nothing else is needed, without them (55
 * characters) two TXT records carry the crypto and key ports.
 */
import {formatAnnouncementLabel} from './announcement.js'

export interface AnnouncementRecord {
  name: string
  type: 'CNAME' | 'A' | 'AAAA' | 'TXT'
  value: string
}

export interface AnnouncementPlan {
  /** The pq1 label alone (55 or 63 characters). */
  label: string
  /** The fully qualified pq1 name, with a trailing dot. */
  pq1Name: string
  records: AnnouncementRecord[]
}

export interface AnnouncementInput {
  /** Service name users type, e.g. www.example.org. */
  name: string
  keyHash: Uint8Array
  pqcPort: number
  keyPort: number
  /** Put the ports in the label (63 characters); otherwise publish the two TXT records. */
  portsInLabel: boolean
  /** Server addresses; a placeholder is shown when empty. */
  addresses: string[]
}

export const ADDRESS_PLACEHOLDER = 'SERVER-IPV4-ADDRESS'

const fqdn = (n: string): string => (n.endsWith('.') ? n : `${n}.`)

/** The parent zone of the service name: where the pq1 name is created. */
function parentOf(name: string): string {
  const labels = fqdn(name).split('.').filter((l) => l !== '')
  return labels.slice(1).join('.')
}

export function planAnnouncement(input: AnnouncementInput): AnnouncementPlan {
  const label = formatAnnouncementLabel(input.keyHash, input.portsInLabel ? {pqcPort: input.pqcPort, keyPort: input.keyPort} : undefined)
  const parent = parentOf(input.name)
  const pq1Name = fqdn(parent === '' ? label : `${label}.${parent}`)
  const addresses = input.addresses.length > 0 ? input.addresses : [ADDRESS_PLACEHOLDER]
  const records: AnnouncementRecord[] = [{name: fqdn(input.name), type: 'CNAME', value: pq1Name}]
  for (const a of addresses) records.push({name: pq1Name, type: a.includes(':') ? 'AAAA' : 'A', value: a})
  if (!input.portsInLabel) {
    records.push({name: pq1Name, type: 'TXT', value: `"p=${input.pqcPort}"`})
    const ip = addresses.find((a) => !a.includes(':')) ?? ADDRESS_PLACEHOLDER
    records.push({name: `ks.${pq1Name}`, type: 'TXT', value: `"ip=${ip};p=${input.keyPort}"`})
  }
  return {label, pq1Name, records}
}

/** Zone-file lines, aligned. */
export function formatZoneLines(records: AnnouncementRecord[], ttl = 300): string[] {
  const width = Math.max(...records.map((r) => r.name.length))
  return records.map((r) => `${r.name.padEnd(width)} ${ttl} IN ${r.type.padEnd(5)} ${r.value}`)
}
