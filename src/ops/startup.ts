/** The effective configuration as printed once at start-up: every setting with its value in force, secrets masked. */
import type { Config } from '../config/config.ts'
import { envNames } from '../config/config.ts'
import type { Logger } from './logger.ts'
import type { OpsSettings } from './settings.ts'

/** Variables outside `Config` printed when set (the adapters', Redis's, the other features'). */
const OTHER_VARIABLES = [
  'ALLOWED_ORIGINS',
  'AUTH_SECRET',
  'AUTH_JWKS_URL',
  'AUTH_PUBLIC_KEY',
  'PUBLISH_KEY',
  'REDIS_URL',
  'REDIS_PREFIX',
  'PRESENCE_HEARTBEAT_MS',
  'ADMIN_TOKEN',
  'HOOK_SECRET',
  'HOOK_URL',
]

/** Names whose values are secrets: shown only as set. */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|_KEY$/

/** What a secret is shown as. */
export const MASK = '***'

/** A value as it may be printed: secrets masked, a URL's password masked. */
export function maskValue(name: string, value: string): string {
  if (SECRET_NAME.test(name)) return MASK
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const url = new URL(value)
      if (url.password !== '') {
        url.password = MASK
        return url.href
      }
      return value
    } catch {
      // Not a URL after all; it could still hold a password, so print nothing of it.
      return MASK
    }
  }
  return value
}

/** Every setting by its variable name, with the value in force (defaults included), for the start-up line. */
export function effectiveConfig(
  env: Record<string, string | undefined>,
  config: Config,
  ops: OpsSettings,
  listen?: { port: number; hostname: string },
): Record<string, string | number> {
  const out: Record<string, string | number> = {}
  if (listen !== undefined) {
    out.HOST = listen.hostname
    out.PORT = listen.port
  }
  for (const key of Object.keys(envNames) as (keyof typeof envNames)[]) out[envNames[key]] = config[key]
  for (const name of OTHER_VARIABLES) {
    const v = env[name]
    if (v !== undefined && v !== '') out[name] = maskValue(name, v)
  }
  out.LOG_FORMAT = ops.logFormat
  out.LOG_LEVEL = ops.logLevel
  if (ops.metricsPort !== undefined) out.METRICS_PORT = ops.metricsPort
  if (ops.metricsToken !== undefined) out.METRICS_TOKEN = MASK
  return out
}

/** Print the effective configuration once, at start-up (whatever LOG_LEVEL says). */
export function logStartup(
  log: Logger,
  env: Record<string, string | undefined>,
  config: Config,
  ops: OpsSettings,
  listen?: { port: number; hostname: string },
): void {
  log.startup('configuration', { config: effectiveConfig(env, config, ops, listen) })
}

/** The line a METRICS_PORT listener prints once it listens (tests read its port from it). */
export function metricsLine(hostname: string, port: number): string {
  return `roomcast metrics on http://${hostname === '0.0.0.0' ? 'localhost' : hostname}:${port}/metrics`
}
