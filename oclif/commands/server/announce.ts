import {Flags} from '@oclif/core'
import {isIP} from 'node:net'

import {KEYPORT_PQC_DEFAULT, PQCPORT_PQC_DEFAULT} from '../../../src/constants.js'
import {formatZoneLines} from '../../../src/dns/records.js'
import {LocalError} from '../../../src/errors.js'
import {announceServer, keyHashOfKeyDir, type ServerAnnouncement} from '../../../router/keys/announce.js'
import {readConfigPorts} from '../../../router/keys/config-dir.js'
import {BaseCommand} from '../../base-command.js'
import {configDirFlag, keydirFlag, keyportFlag, pqcportFlag} from '../../key-flags.js'

export default class ServerAnnounce extends BaseCommand {
  static override summary = 'print the DNS records that announce this server'
  static override description = `computes the pq1 name from the key directory (the Merkle root of mceliece_pk and x25519_pk,
exactly as a PQConnect client computes it) and prints the records to publish: NAME becomes a CNAME
to the pq1 name, which owns the server's addresses.

with --pqcport and --keyport the ports go into the 63-character pq1 label; without them the
55-character label is printed together with the two TXT records (p= and ks.) that carry the ports
taken from the config directory (624 and 584, as for keygen and start, when it has none).`

  static override examples = [
    '<%= config.bin %> server announce --name www.example.org --address 203.0.113.9 --pqcport 624 --keyport 584',
    '<%= config.bin %> server announce --name www.example.org --keydir ./keys --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    name: Flags.string({description: 'service name clients resolve, e.g. www.example.org', required: true, helpValue: 'NAME'}),
    address: Flags.string({description: 'public address of the server (repeatable)', multiple: true, helpValue: 'IP'}),
    keydir: keydirFlag,
    'config-dir': configDirFlag,
    pqcport: pqcportFlag,
    keyport: keyportFlag,
  }

  async run(): Promise<ServerAnnouncement> {
    const {flags} = await this.parse(ServerAnnounce)
    const addresses = flags.address ?? []
    for (const a of addresses) {
      if (isIP(a) === 0) throw new LocalError('PQC_ERR_ARGUMENT', `--address ${a} is not an IP address`)
    }
    if ((flags.pqcport === undefined) !== (flags.keyport === undefined)) {
      throw new LocalError('PQC_ERR_ARGUMENT', 'give both --pqcport and --keyport, or neither', {hint: 'a pq1 label carries both ports or none'})
    }
    const portsInLabel = flags.pqcport !== undefined
    const fromConfig = portsInLabel ? {} : readConfigPorts(flags['config-dir'])
    const result = announceServer({
      keyHash: keyHashOfKeyDir(flags.keydir),
      name: flags.name,
      pqcPort: flags.pqcport ?? fromConfig.pqcPort ?? PQCPORT_PQC_DEFAULT,
      keyPort: flags.keyport ?? fromConfig.keyPort ?? KEYPORT_PQC_DEFAULT,
      portsInLabel,
      addresses,
    })
    if (!this.jsonEnabled()) printAnnouncement(this, result)
    return result
  }
}

export function printAnnouncement(cmd: {log(msg: string): void}, a: ServerAnnouncement): void {
  cmd.log(`key hash:   ${a.keyHashBase32} (hex ${a.keyHashHex})`)
  cmd.log(`pq1 label:  ${a.label} (${a.label.length} characters)`)
  cmd.log(`ports:      crypto ${a.pqcPort}/udp, keys ${a.keyPort}/udp`)
  cmd.log('')
  cmd.log('publish these records (the service name must not be a zone apex or have NS records):')
  for (const line of formatZoneLines(a.records)) cmd.log(`  ${line}`)
}
