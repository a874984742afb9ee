/** Who may connect and publish: origins, token keys and the publish key, read from an env-like record. */
import { ConfigError } from './config-error.ts'

/** Access settings. Secrets live here, so never log this object. */
export interface AccessConfig {
  /** Full origins (`https://app.example.com`) a browser may connect or publish from; empty: any. */
  allowedOrigins: string[]
  /** HS256 secret for tokens (`AUTH_SECRET`). */
  authSecret?: string
  /** URL of a JWK Set with RS256/ES256 keys (`AUTH_JWKS_URL`). */
  authJwksUrl?: string
  /** An RS256 or ES256 public key in PEM (SPKI) form (`AUTH_PUBLIC_KEY`). */
  authPublicKey?: string
  /** Bearer key for `POST /rooms/:room/messages` (`PUBLISH_KEY`). */
  publishKey?: string
}

/** The shortest AUTH_SECRET accepted: HS256 wants at least 256 bits of key. */
export const MIN_SECRET_LENGTH = 32
/** The shortest PUBLISH_KEY accepted, so a guessable key fails at startup rather than in production. */
export const MIN_PUBLISH_KEY_LENGTH = 16

/** Read access settings; a value that cannot be used throws ConfigError naming the variable. */
export function readAccess(env: Record<string, string | undefined>): AccessConfig {
  const get = (name: string) => {
    const v = env[name]?.trim()
    return v === undefined || v === '' ? undefined : v
  }
  const out: AccessConfig = { allowedOrigins: parseOrigins(get('ALLOWED_ORIGINS')) }

  const secret = get('AUTH_SECRET')
  const jwks = get('AUTH_JWKS_URL')
  // Env files often carry a PEM on one line with literal "\n".
  const pem = get('AUTH_PUBLIC_KEY')?.replace(/\\n/g, '\n')
  if ([secret, jwks, pem].filter((v) => v !== undefined).length > 1) {
    throw new ConfigError('set only one of AUTH_SECRET, AUTH_JWKS_URL and AUTH_PUBLIC_KEY')
  }
  if (secret !== undefined) {
    if (secret.length < MIN_SECRET_LENGTH) throw new ConfigError(`AUTH_SECRET must be at least ${MIN_SECRET_LENGTH} characters`)
    out.authSecret = secret
  }
  if (jwks !== undefined) {
    let url: URL
    try {
      url = new URL(jwks)
    } catch {
      throw new ConfigError('AUTH_JWKS_URL is not a URL')
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('AUTH_JWKS_URL must be an http(s) URL')
    out.authJwksUrl = url.href
  }
  if (pem !== undefined) {
    if (!/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/.test(pem)) {
      throw new ConfigError('AUTH_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)')
    }
    out.authPublicKey = pem
  }
  const key = get('PUBLISH_KEY')
  if (key !== undefined) {
    if (key.length < MIN_PUBLISH_KEY_LENGTH) throw new ConfigError(`PUBLISH_KEY must be at least ${MIN_PUBLISH_KEY_LENGTH} characters`)
    out.publishKey = key
  }
  return out
}

/** `ALLOWED_ORIGINS`: comma-separated full origins, normalised as browsers send them. */
function parseOrigins(raw: string | undefined): string[] {
  if (raw === undefined) return []
  return raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '')
    .map((o) => {
      let url: URL
      try {
        url = new URL(o)
      } catch {
        throw new ConfigError(`ALLOWED_ORIGINS: "${o}" is not a full origin such as https://app.example.com`)
      }
      // A path, query or credentials would never match a browser's Origin header: say so now.
      const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === ''
      if (!bare || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        throw new ConfigError(`ALLOWED_ORIGINS: "${o}" is not a full origin such as https://app.example.com`)
      }
      return url.origin
    })
}

