/** Hex helpers for tests. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
export const unhex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
