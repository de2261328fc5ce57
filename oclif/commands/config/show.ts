import {Flags} from '@oclif/core'

import {PQC_CONFIG_FILE_DEFAULT} from '../../../src/constants.js'
import {type EffectiveConfig, type EffectiveValue, effectiveConfig, loadConfigFile} from '../../config-file.js'
import {SCHEMA} from '../../config-schema.js'
import {BaseCommand} from '../../base-command.js'

export default class ConfigShow extends BaseCommand {
  static override summary = 'print the effective configuration and where each value comes from'
  static override description = `reads the configuration file (default /etc/pqconnect/pqc.json, optional; see pqc.conf(5)),
validates it, and prints every setting of the client and the server with its value and its
source: file, config-dir (the server's pqcport, keyport and host files), env ($KEYPATH) or
default. flags of pqc client start and pqc server start override all of these.`

  static override examples = [
    '<%= config.bin %> config show',
    '<%= config.bin %> config show --config ./pqc.json --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    config: Flags.string({description: `configuration file [default: ${PQC_CONFIG_FILE_DEFAULT}, if it exists]`, helpValue: 'FILE'}),
  }

  async run(): Promise<EffectiveConfig> {
    const {flags} = await this.parse(ConfigShow)
    const eff = effectiveConfig({}, loadConfigFile(flags.config))
    if (!this.jsonEnabled()) {
      this.log(`config file: ${eff.file ?? `none (${PQC_CONFIG_FILE_DEFAULT} does not exist): built-in defaults`}`)
      for (const section of ['client', 'server'] as const) {
        for (const key of Object.keys(SCHEMA[section])) {
          const v = (eff[section] as Record<string, EffectiveValue<unknown>>)[key]!
          const where = v.source === 'config-dir' ? `config-dir (${eff.server['config-dir'].value})` : v.source === 'env' ? 'env ($KEYPATH)' : v.source
          this.log(`${`${section}.${key}`.padEnd(22)} ${formatValue(v.value).padEnd(28)} ${where}`)
        }
      }
    }
    return eff
  }
}

export function formatValue(v: unknown): string {
  if (v === undefined) return '(none)'
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.join(', ')
  if (typeof v === 'object' && v !== null) {
    const a = v as {tcp: number[]; udp: number[]}
    return `tcp ${a.tcp.length === 0 ? 'none' : a.tcp.join(',')}; udp ${a.udp.length === 0 ? 'none' : a.udp.join(',')}`
  }
  return String(v)
}
