/**
 * One logger per subsystem with a fixed prefix (`router:`, `keyserver:` ...), three levels, and a
 * per-message-kind rate limit so a flood of bad packets cannot flood the log (section 14 item 6).
 * Callers never pass key material; key hashes are logged truncated.
 */

export type LogLevel = 'error' | 'info' | 'verbose'

export interface Logger {
  error(msg: string): void
  info(msg: string): void
  verbose(msg: string): void
  /** Log at most once per LOG_LIMIT_INTERVAL_S for `kind`, with a count of what was suppressed. */
  limited(kind: string, msg: string): void
}

export const LOG_LIMIT_INTERVAL_S = 10
/** Distinct rate-limited message kinds remembered. */
export const LOG_LIMIT_MAX_KINDS = 256

export function createLogger(prefix: string, options: {verbose?: boolean; write?: (line: string) => void} = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  const last = new Map<string, {at: number; suppressed: number}>()
  const emit = (level: string, msg: string): void => write(`${new Date().toISOString()} ${prefix}: ${level === 'info' ? '' : `${level}: `}${msg}`)
  return {
    error: (m) => emit('error', m),
    info: (m) => emit('info', m),
    verbose: (m) => {
      if (options.verbose) emit('verbose', m)
    },
    limited: (kind, m) => {
      const now = Date.now() / 1000
      const e = last.get(kind)
      if (e !== undefined && now - e.at < LOG_LIMIT_INTERVAL_S) {
        e.suppressed++
        return
      }
      if (e === undefined && last.size >= LOG_LIMIT_MAX_KINDS) last.delete(last.keys().next().value!)
      const extra = e !== undefined && e.suppressed > 0 ? ` (${e.suppressed} more suppressed)` : ''
      last.set(kind, {at: now, suppressed: 0})
      emit('info', `${m}${extra}`)
    },
  }
}

/** First 8 hex digits of a key hash or tid: enough to tell peers apart, useless to an attacker. */
export const shortHex = (b: Uint8Array): string => Buffer.from(b.subarray(0, 4)).toString('hex')
