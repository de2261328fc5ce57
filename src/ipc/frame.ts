/**
 * Framing of the local control channels (resolver <-> router, CLI <-> resolver): each message is
 * a 4-byte big-endian length and that many bytes of UTF-8 JSON. The decoder is incremental and
 * bounded (IPC_MAX_FRAME_BYTES); an oversized frame or bad JSON is an error after which the
 * connection must be closed. Pure: bytes in, values out.
 */
import {IPC_MAX_FRAME_BYTES} from '../constants.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', {fatal: true})

export function encodeFrame(value: unknown): Uint8Array {
  const body = encoder.encode(JSON.stringify(value))
  if (body.length > IPC_MAX_FRAME_BYTES) throw new RangeError('control message too large')
  const out = new Uint8Array(4 + body.length)
  new DataView(out.buffer).setUint32(0, body.length)
  out.set(body, 4)
  return out
}

export type FrameResult = {ok: true; values: unknown[]} | {ok: false; error: 'oversized' | 'bad-json'}

export class FrameDecoder {
  #buf = new Uint8Array(0)
  readonly #max: number

  constructor(maxFrameBytes = IPC_MAX_FRAME_BYTES) {
    this.#max = maxFrameBytes
  }

  push(chunk: Uint8Array): FrameResult {
    const merged = new Uint8Array(this.#buf.length + chunk.length)
    merged.set(this.#buf)
    merged.set(chunk, this.#buf.length)
    const values: unknown[] = []
    let o = 0
    while (merged.length - o >= 4) {
      const len = new DataView(merged.buffer, merged.byteOffset + o, 4).getUint32(0)
      if (len > this.#max) return {ok: false, error: 'oversized'}
      if (merged.length - o - 4 < len) break
      try {
        values.push(JSON.parse(decoder.decode(merged.subarray(o + 4, o + 4 + len))))
      } catch {
        return {ok: false, error: 'bad-json'}
      }
      o += 4 + len
    }
    this.#buf = merged.slice(o)
    return {ok: true, values}
  }
}
