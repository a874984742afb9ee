/**
 * Signed tokens (JWT, verified with `jose`, which runs on every runtime) and
 * what they grant: an identity (`sub`), rooms (`rooms`: names or `prefix*`
 * patterns), the right to publish (`pub`) and an expiry (`exp`, required).
 */

import type { CryptoKey, JWTPayload, JWTVerifyGetKey } from 'jose'
import { SignJWT, createRemoteJWKSet, errors, importSPKI, jwtVerify } from 'jose'
import type { AccessConfig } from '../config/access-config.ts'
import { SUBPROTOCOL } from '../wire/names.ts'

/** What a verified token lets its bearer do. */
export interface Grant {
  /** Shown as `from` on the bearer's messages. */
  sub?: string
  /** Room names and `prefix*` patterns. */
  rooms: string[]
  /** May publish; otherwise read-only. */
  pub: boolean
  /** Unix ms when the token expires. */
  exp: number
}

/** A verification result: a grant, or why not (401: the token's fault; 503: ours, such as an unreachable JWKS). */
export type Verified = { ok: true; grant: Grant } | { ok: false; status: 401 | 503; message: string }

/** Verify a token. */
export type Verifier = (token: string) => Promise<Verified>

/** Longest `sub` accepted: it travels in every message and must fit a Durable Object attachment. */
export const MAX_SUB_LENGTH = 256
const MAX_ROOMS = 64
const ROOM_PATTERN = /^[A-Za-z0-9_.-]{1,64}$|^[A-Za-z0-9_.-]{0,63}\*$/
/** Three base64url segments: what a JWT looks like among subprotocol entries. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** The settled failure of a public key that could not be imported (already reported). */
const unusableKey = new Error('AUTH_PUBLIC_KEY is unusable')

/** A verifier for the configured key, or null when no token is required. */
export function createVerifier(access: AccessConfig, onError: (err: unknown) => void = defaultOnError): Verifier | null {
  let key: Uint8Array | JWTVerifyGetKey | Promise<{ key: CryptoKey; alg: string }>
  let algorithms: string[]
  if (access.authSecret !== undefined) {
    key = new TextEncoder().encode(access.authSecret)
    algorithms = ['HS256']
  } else if (access.authJwksUrl !== undefined) {
    key = createRemoteJWKSet(new URL(access.authJwksUrl))
    algorithms = ['RS256', 'ES256']
  } else if (access.authPublicKey !== undefined) {
    // Reported once here; each verification then answers 503 quietly.
    key = importPublicKey(access.authPublicKey).catch((err) => {
      onError(err)
      throw unusableKey
    })
    // Handled where it is awaited; without this a bad key would crash the process before the first token arrives.
    key.catch(() => {})
    algorithms = [] // set once the key is imported: the key's own algorithm only
  } else {
    return null
  }
  return async (token) => {
    try {
      let k: Uint8Array | JWTVerifyGetKey | CryptoKey
      let algs = algorithms
      if (key instanceof Promise) {
        const imported = await key
        k = imported.key
        algs = [imported.alg]
      } else k = key
      const { payload } =
        typeof k === 'function'
          ? await jwtVerify(token, k, { algorithms: algs, requiredClaims: ['exp'] })
          : await jwtVerify(token, k, { algorithms: algs, requiredClaims: ['exp'] })
      return readGrant(payload)
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { ok: false, status: 401, message: 'token expired' }
      // A remote key set that cannot be fetched or read is our problem, not the client's.
      if (err instanceof errors.JOSEError && !(err instanceof errors.JWKSTimeout) && !(err instanceof errors.JWKSInvalid)) {
        return { ok: false, status: 401, message: 'token invalid' }
      }
      if (err !== unusableKey) onError(err)
      return { ok: false, status: 503, message: 'cannot verify tokens right now; try again' }
    }
  }
}

/** The grant a verified payload carries; claims of the wrong shape make the token invalid. */
export function readGrant(payload: JWTPayload): Verified {
  const bad = (message: string): Verified => ({ ok: false, status: 401, message })
  const { sub, rooms, pub, exp } = payload as JWTPayload & { rooms?: unknown; pub?: unknown }
  if (sub !== undefined && (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH)) {
    return bad(`token "sub" must be a string of 1 to ${MAX_SUB_LENGTH} characters`)
  }
  if (!Array.isArray(rooms) || rooms.length > MAX_ROOMS || !rooms.every((r) => typeof r === 'string' && isRoomPattern(r))) {
    return bad(`token "rooms" must be a list of up to ${MAX_ROOMS} room names or "prefix*" patterns`)
  }
  if (pub !== undefined && typeof pub !== 'boolean') return bad('token "pub" must be true or false')
  const grant: Grant = { rooms: rooms as string[], pub: pub === true, exp: (exp as number) * 1000 }
  if (sub !== undefined) grant.sub = sub
  return { ok: true, grant }
}

/** Whether `text` may stand in a token's `rooms`: a room name, or `prefix*` (`*` alone: any room). */
export function isRoomPattern(text: string): boolean {
  return ROOM_PATTERN.test(text)
}

/** Whether `grant` lets its bearer into `room`: an exact name, or a `prefix*` pattern (`*` alone: any room). */
export function grantsRoom(grant: Pick<Grant, 'rooms'>, room: string): boolean {
  for (const r of grant.rooms) {
    if (r.endsWith('*') ? room.startsWith(r.slice(0, -1)) : room === r) return true
  }
  return false
}

/**
 * A token offered as a subprotocol entry beside `roomcast.v1`
 * (`Sec-WebSocket-Protocol: roomcast.v1, <jwt>`), for browsers, which cannot set
 * headers. The server never selects it as the negotiated subprotocol.
 */
export function tokenFromProtocols(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  for (const p of header.split(',')) {
    const t = p.trim()
    if (t !== SUBPROTOCOL && JWT_SHAPE.test(t)) return t
  }
  return undefined
}

/** The token in an `Authorization: Bearer <token>` header. */
export function bearer(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header)
  return m === null ? undefined : m[1]
}

/** What `mintToken` signs. */
export interface TokenClaims {
  rooms: string[]
  pub?: boolean
  sub?: string
  /** Lifetime in seconds. */
  ttlSeconds: number
}

/** Sign an HS256 token for `AUTH_SECRET` (the `npm run token` command; servers only verify). */
export function mintToken(secret: string, claims: TokenClaims, now: number = Date.now()): Promise<string> {
  const body: Record<string, unknown> = { rooms: claims.rooms, pub: claims.pub === true }
  const jwt = new SignJWT(body)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(now / 1000) + claims.ttlSeconds)
  if (claims.sub !== undefined) jwt.setSubject(claims.sub)
  return jwt.sign(new TextEncoder().encode(secret))
}

/** Import a PEM public key as RS256 or ES256, whichever it is. */
async function importPublicKey(pem: string): Promise<{ key: CryptoKey; alg: string }> {
  for (const alg of ['RS256', 'ES256']) {
    try {
      return { key: await importSPKI(pem, alg), alg }
    } catch {
      // not this algorithm's key type; try the next
    }
  }
  throw new Error('AUTH_PUBLIC_KEY is neither an RSA nor a P-256 EC public key')
}

function defaultOnError(err: unknown): void {
  console.error('roomcast: token verification failed on our side:', err instanceof Error ? err.message : err)
}
