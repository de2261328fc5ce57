/** Runs the real `dig` against a local port and parses what the tests assert on. */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

const run = promisify(execFile)

export interface DigRecord {
  name: string
  ttl: number
  type: string
  data: string
}

export interface DigResult {
  status: string
  flags: string[]
  question: string
  answers: DigRecord[]
  authority: DigRecord[]
  raw: string
}

function section(raw: string, title: string): DigRecord[] {
  const i = raw.indexOf(`;; ${title} SECTION:`)
  if (i < 0) return []
  const out: DigRecord[] = []
  for (const line of raw.slice(i).split('\n').slice(1)) {
    if (line.trim() === '') break
    const [name, ttl, , type, ...data] = line.split(/\s+/)
    out.push({name: name!, ttl: Number(ttl), type: type!, data: data.join(' ')})
  }
  return out
}

export async function dig(port: number, ...args: string[]): Promise<DigResult> {
  let raw: string
  try {
    raw = (await run('dig', ['@127.0.0.1', '-p', String(port), '+time=8', '+tries=1', ...args])).stdout
  } catch (err) {
    raw = String((err as {stdout?: string}).stdout ?? '')
  }
  const status = /status: ([A-Z]+)/.exec(raw)?.[1] ?? 'NO-REPLY'
  const flags = (/;; flags: ([^;]*);/.exec(raw)?.[1] ?? '').trim().split(/\s+/).filter((f) => f !== '')
  const question = /;; QUESTION SECTION:\n;(\S+)/.exec(raw)?.[1] ?? ''
  return {status, flags, question, answers: section(raw, 'ANSWER'), authority: section(raw, 'AUTHORITY'), raw}
}
