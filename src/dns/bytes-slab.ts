/**
 * Short-lived message buffers carved from a shared slab, as Node's Buffer pool does: replies and
 * upstream queries (tens to hundreds of bytes, one or two per query) then cost one off-heap
 * allocation per DNS_BYTES_SLAB_BYTES instead of one each. A slab is only ever handed out once,
 * front to back, so a buffer is never shared or reused; fresh slabs are zero-filled.
 */
import {DNS_BYTES_SLAB_BYTES, DNS_BYTES_SLAB_MAX_PIECE} from '../constants.js'

let slab = new Uint8Array(DNS_BYTES_SLAB_BYTES)
let used = 0

/** A zero-filled buffer of `n` bytes of its own (a view into the current slab when small). */
export function slabBytes(n: number): Uint8Array {
  if (n > DNS_BYTES_SLAB_MAX_PIECE) return new Uint8Array(n)
  if (used + n > slab.length) {
    slab = new Uint8Array(DNS_BYTES_SLAB_BYTES)
    used = 0
  }
  const out = slab.subarray(used, used + n)
  used = (used + n + 7) & ~7
  return out
}
