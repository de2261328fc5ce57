/**
 * Erasing secrets. JavaScript cannot promise that no copy survives (the GC may move memory), so
 * secrets live in Buffers we own, are never turned into strings, and are zeroed with libsodium's
 * sodium_memzero (which the compiler cannot optimise away) as soon as they are no longer needed.
 */
import sodium from 'sodium-native'

export function wipe(...bufs: Array<Uint8Array | undefined | null>): void {
  for (const b of bufs) if (b && b.length > 0) sodium.sodium_memzero(b)
}
