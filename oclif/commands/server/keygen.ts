import {Flags, ux} from '@oclif/core'
import {join} from 'node:path'

import {PQCPORT_PQC_DEFAULT, KEYPORT_PQC_DEFAULT} from '../../../src/constants.js'
import {mceliece6960119} from '../../../src/crypto/mceliece.js'
import {systemRng} from '../../../src/crypto/rng.js'
import {wipe} from '../../../src/crypto/wipe.js'
import {x25519Keypair} from '../../../src/crypto/x25519.js'
import {formatZoneLines} from '../../../src/dns/records.js'
import {LocalError} from '../../../src/errors.js'
import {merkleRoot} from '../../../src/keys/merkle.js'
import {announceServer} from '../../../router/keys/announce.js'
import {writeFileAtomic} from '../../../router/keys/atomic-write.js'
import {readConfigPorts, writeConfigPorts} from '../../../router/keys/config-dir.js'
import {existingKeyFiles, writeKeyDir} from '../../../router/keys/keydir.js'
import {generateServerKeys} from '../../../router/keys/keygen.js'
import {BaseCommand} from '../../base-command.js'
import {configDirFlag, keydirFlag, keyportFlag, pqcportFlag} from '../../key-flags.js'
import {printAnnouncement} from './announce.js'

export default class ServerKeygen extends BaseCommand {
  static override summary = 'generate the long-term keys of a PQConnect server'
  static override description = `writes a Classic McEliece 6960119 key pair, an X25519 key pair and the session key into the key
directory, in the PQConnect reference's format (raw files; public keys mode 0644, secret keys 0600,
each written atomically), records the crypto and key ports in the config directory, and prints the
DNS records to publish. Existing keys are never replaced without --force.

ports default to those already in the config directory, else 624 (crypto) and 584 (keys): ports
below 1024 cannot be taken by an unprivileged local user.`

  static override examples = [
    '<%= config.bin %> server keygen',
    '<%= config.bin %> server keygen --keydir ./keys --config-dir ./config --pqcport 42424 --keyport 42425 --name www.example.org',
  ]

  static override enableJsonFlag = true

  static override flags = {
    keydir: keydirFlag,
    'config-dir': configDirFlag,
    pqcport: pqcportFlag,
    keyport: keyportFlag,
    name: Flags.string({description: 'service name to print the DNS records for', helpValue: 'NAME'}),
    force: Flags.boolean({description: 'replace existing key files (the server gets a new identity and a new pq1 name)', default: false}),
  }

  async run(): Promise<{keydir: string; keyHashHex: string; label: string; pqcPort: number; keyPort: number}> {
    const {flags} = await this.parse(ServerKeygen)
    const existing = existingKeyFiles(flags.keydir)
    if (existing.length > 0 && !flags.force) {
      throw new LocalError('PQC_ERR_KEY_EXISTS', `key files already exist in ${flags.keydir}: ${existing.join(', ')}`, {
        hint: 'pass --force to replace them (the server gets a new identity and a new pq1 name)',
      })
    }
    const configured = readConfigPorts(flags['config-dir'])
    const ports = {
      pqcPort: flags.pqcport ?? configured.pqcPort ?? PQCPORT_PQC_DEFAULT,
      keyPort: flags.keyport ?? configured.keyPort ?? KEYPORT_PQC_DEFAULT,
    }

    const started = Date.now()
    if (!this.jsonEnabled()) ux.action.start('generating the Classic McEliece 6960119 key pair (a few seconds)')
    const keys = await generateServerKeys({skem: mceliece6960119, dhKeypair: () => x25519Keypair(systemRng), rng: systemRng})
    if (!this.jsonEnabled()) ux.action.stop(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    try {
      writeKeyDir(flags.keydir, keys, {force: flags.force})
    } finally {
      wipe(keys.mcelieceSk, keys.x25519Sk, keys.sessionKey)
    }
    writeConfigPorts(flags['config-dir'], ports)

    const keyHash = merkleRoot(keys.mceliecePk, keys.x25519Pk)
    const a = announceServer({keyHash, name: flags.name ?? 'www.example.org', ...ports, portsInLabel: true, addresses: []})
    // The reference leaves these instructions beside the keys (section 9.1); so do we.
    const howto = [
      `key hash: ${a.keyHashBase32}`,
      `pq1 label: ${a.label}`,
      'publish (replace www.example.org and SERVER-IPV4-ADDRESS with your name and address):',
      ...formatZoneLines(a.records),
      '',
    ].join('\n')
    writeFileAtomic(join(flags.keydir, 'DNS_Record_Update_HOWTO.txt'), Buffer.from(howto), 0o644)
    if (!this.jsonEnabled()) {
      this.log(`wrote keys to ${flags.keydir} and ports to ${flags['config-dir']}`)
      printAnnouncement(this, a)
      if (flags.name === undefined) this.log('\n(run `pqc server announce --name YOUR.NAME --address YOUR.IP` for records with your name)')
    }
    return {keydir: flags.keydir, keyHashHex: a.keyHashHex, label: a.label, pqcPort: ports.pqcPort, keyPort: ports.keyPort}
  }
}
