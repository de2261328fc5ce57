/**
 * Flags shared by the server key commands, with the reference's defaults and $KEYPATH override
 * (pq1-protocol.md sections 7.8 and 9).
 */
import {Flags} from '@oclif/core'

import {DEFAULT_CONFIG_DIR} from '../router/keys/config-dir.js'
import {DEFAULT_KEYDIR} from '../router/keys/keydir.js'

export const keydirFlag = Flags.string({
  description: 'key directory (reference format); $KEYPATH overrides the default',
  default: async () => process.env.KEYPATH ?? DEFAULT_KEYDIR,
  helpValue: 'DIR',
})

export const configDirFlag = Flags.string({
  description: 'config directory holding the pqcport, keyport and host files',
  default: DEFAULT_CONFIG_DIR,
  helpValue: 'DIR',
})

export const pqcportFlag = Flags.integer({description: 'UDP port of the crypto (handshake and tunnel) server', min: 1, max: 65535, helpValue: 'PORT'})
export const keyportFlag = Flags.integer({description: 'UDP port of the key server', min: 1, max: 65535, helpValue: 'PORT'})
