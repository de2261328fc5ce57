/**
 * Shared behaviour of every `pqc` command: the --json flag for read commands, and the mapping of
 * our error codes to one clear line and a stable exit status (documented in man/pqc.1.md).
 */
import {Command, Errors} from '@oclif/core'

import {PqcError, type PqcErrorCode} from '../src/errors.js'

/** Exit statuses by error code; 1 is anything unexpected. */
export const EXIT_CODES: Record<PqcErrorCode, number> = {
  PQC_ERR_ARGUMENT: 2,
  PQC_ERR_CONFIG_INVALID: 3,
  PQC_ERR_KEYDIR: 4,
  PQC_ERR_KEY_EXISTS: 5,
  PQC_ERR_KEY_INVALID: 6,
  PQC_ERR_CRYPTO: 7,
  PQC_ERR_DECODE: 8,
  PQC_ERR_EPOCH_EXHAUSTED: 9,
  PQC_ERR_NOT_ANNOUNCED: 10,
  PQC_ERR_IO: 11,
}

export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (err instanceof PqcError) {
      const hint = err.hint === undefined ? '' : `\nhint: ${err.hint}`
      this.logToStderr(`pqc: ${err.message} [${err.code}]${hint}`)
      this.exit(EXIT_CODES[err.code])
    }
    if (err instanceof Errors.ExitError) throw err
    return super.catch(err)
  }
}
