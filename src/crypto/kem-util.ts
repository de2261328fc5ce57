/**
 * Small helpers shared by the KEM adapters (mceliece.ts, sntrup.ts): length checks that throw
 * LocalError, zero-copy views in the shape each library insists on, and callback-to-promise
 * glue that turns a library failure into a LocalError with the cause attached.
 */
import {LocalError} from '../errors.js'

/** Lengths are fixed by the wire format; a wrong one is a bug in the caller, not remote input. */
export function checkLength(bytes: Uint8Array, expected: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== expected) {
    throw new LocalError('PQC_ERR_ARGUMENT', `${what} must be ${expected} bytes`)
  }
}

/** A Buffer over the same memory (native addons read their arguments as Buffers). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** A plain Uint8Array over the same memory (@oqs/liboqs-js rejects subclasses such as Buffer). */
export function asPlainUint8Array(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Run a Node-style callback API as a promise; failures become LocalError('PQC_ERR_CRYPTO'). */
export function viaCallback<T>(what: string, start: (cb: (err: Error | null, result: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((err, result) => {
      if (err) reject(new LocalError('PQC_ERR_CRYPTO', `${what} failed`, {cause: err}))
      else resolve(result)
    })
  })
}
