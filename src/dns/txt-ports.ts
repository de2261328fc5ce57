/**
 * Ports announced in TXT records when the pq1 label carries none (pq1-protocol.md section 2.2):
 * `TXT <pq1 name>` = "p=<crypto port>" and `TXT ks.<pq1 name>` = "ip=<addr>;p=<key port>"
 * (the ip value is ignored). Parsing follows the reference: first matching record wins; anything
 * else gives undefined. Never throws.
 */
import {SECTION_ANSWER, TYPE_TXT, type WireMessage} from './wire.js'

/** Texts of the TXT records owned by `lname` in the answer, each record's strings joined. */
export function txtTexts(buf: Uint8Array, msg: WireMessage, lname: string): string[] {
  const out: string[] = []
  for (const r of msg.records) {
    if (r.section !== SECTION_ANSWER || r.type !== TYPE_TXT || r.lname !== lname) continue
    let text = ''
    let o = r.rdataOffset
    const end = r.rdataOffset + r.rdlength
    while (o < end) {
      const len = buf[o]!
      if (o + 1 + len > end) break
      text += Buffer.from(buf.subarray(o + 1, o + 1 + len)).toString('latin1')
      o += 1 + len
    }
    out.push(text)
  }
  return out
}

function port(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,5}$/.test(text.trim())) return undefined
  const n = Number(text.trim())
  return n >= 1 && n <= 0xffff ? n : undefined
}

/** Crypto port from the texts of `TXT <pq1 name>`: the first "p=<port>" record. */
export function parseCryptoPortTxt(texts: string[]): number | undefined {
  for (const t of texts) {
    const parts = t.replace(/"/g, '').split('=')
    if (parts.length === 2 && parts[0]!.trim() === 'p') return port(parts[1])
  }
  return undefined
}

/** Key-server port from the texts of `TXT ks.<pq1 name>`: "ip=<addr>;p=<port>", positionally. */
export function parseKeyPortTxt(texts: string[]): number | undefined {
  for (const t of texts) {
    const parts = t.replace(/"/g, '').split(';')
    if (parts.length !== 2) continue
    const eq = parts[1]!.indexOf('=')
    if (eq < 0) continue
    return port(parts[1]!.slice(eq + 1))
  }
  return undefined
}
