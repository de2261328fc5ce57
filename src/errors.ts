/**
 * Errors of the whole project. A `LocalError` is misuse or bad configuration: it is thrown and
 * surfaces at the CLI as one line with its stable code. A `RemoteError` is bad data from a peer or
 * an upstream: the data path never throws it across the event loop; it drops and counts instead.
 */

/** Stable error codes; the CLI maps them to exit statuses (see oclif/base-command.ts). */
export type PqcErrorCode =
  | 'PQC_ERR_ARGUMENT'
  | 'PQC_ERR_CONFIG_INVALID'
  | 'PQC_ERR_KEYDIR'
  | 'PQC_ERR_KEY_EXISTS'
  | 'PQC_ERR_KEY_INVALID'
  | 'PQC_ERR_CRYPTO'
  | 'PQC_ERR_DECODE'
  | 'PQC_ERR_EPOCH_EXHAUSTED'
  | 'PQC_ERR_NOT_ANNOUNCED'
  | 'PQC_ERR_IO'

export class PqcError extends Error {
  readonly code: PqcErrorCode
  readonly hint: string | undefined

  constructor(code: PqcErrorCode, message: string, options?: {cause?: unknown; hint?: string}) {
    super(message, options?.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.code = code
    this.hint = options?.hint
  }
}

/** Misuse or configuration problem on our side: throw it. */
export class LocalError extends PqcError {}

/** A peer or an upstream sent bad data: callers drop, count and move on. */
export class RemoteError extends PqcError {}
