/**
 * HMAC-SHA256 signatures of HTTP hook bodies (HOOK_SECRET), through WebCrypto
 * so the same code signs on Node, Deno, Bun and Workers. The MAC covers
 * `<timestamp>.<body>`, so a captured request cannot be replayed later with
 * a fresh timestamp.
 */

/** The header with `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. */
export const SIGNATURE_HEADER = 'X-Roomcast-Signature'
/** The header with the Unix time in seconds the request was signed at, covered by the MAC. */
export const TIMESTAMP_HEADER = 'X-Roomcast-Timestamp'

const encoder = new TextEncoder()

/** An HMAC-SHA256 key for signing and verifying. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
}

/** The `X-Roomcast-Signature` value for `body` signed at `timestamp` (Unix seconds). */
export async function signBody(key: CryptoKey, timestamp: string, body: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(`${timestamp}.${body}`)))
  let hex = ''
  for (const b of mac) hex += b.toString(16).padStart(2, '0')
  return `sha256=${hex}`
}

/**
 * Whether `signature` is `body`'s at `timestamp`, and the timestamp within `toleranceS` of `now`
 * (seconds): what a receiver written in JavaScript checks (others: the same HMAC in their language).
 */
export async function verifySignature(
  key: CryptoKey,
  timestamp: string,
  body: string,
  signature: string,
  now = Date.now() / 1000,
  toleranceS = 300,
): Promise<boolean> {
  const t = Number(timestamp)
  if (!Number.isFinite(t) || Math.abs(now - t) > toleranceS) return false
  const m = /^sha256=([0-9a-f]{64})$/.exec(signature)
  if (m === null) return false
  const bytes = new Uint8Array(32)
  for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt((m[1] as string).slice(2 * i, 2 * i + 2), 16)
  // verify(), not a string compare: constant time.
  return crypto.subtle.verify('HMAC', key, bytes, encoder.encode(`${timestamp}.${body}`))
}
