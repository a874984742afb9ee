/** The operator's settings: where `/metrics` is served and who may read it, and how logs are written. */
import { ConfigError } from '../config/config-error.ts'
import type { Level, LogFormat } from './logger.ts'
import { LEVELS } from './logger.ts'

/** Metrics and log settings, read from the environment. */
export interface OpsSettings {
  /** Bearer token `GET /metrics` requires (`METRICS_TOKEN`); unset: none. */
  metricsToken?: string
  /** Serve `/metrics` only on this port, on a listener of its own (`METRICS_PORT`; 0: any free port); unset: on the main port. */
  metricsPort?: number
  /** `LOG_FORMAT`: json, or text; default json unless stdout is a terminal. */
  logFormat: LogFormat
  /** `LOG_LEVEL`: error, warn, info (default) or debug. */
  logLevel: Level
}

/** The shortest METRICS_TOKEN accepted, as for PUBLISH_KEY. */
export const MIN_METRICS_TOKEN_LENGTH = 16

/** Read the settings; `stdoutIsTerminal` picks the default format (the runtime knows, the core does not). */
export function readOpsSettings(env: Record<string, string | undefined>, stdoutIsTerminal = false): OpsSettings {
  const get = (name: string) => {
    const v = env[name]?.trim()
    return v === undefined || v === '' ? undefined : v
  }
  const format = get('LOG_FORMAT') ?? (stdoutIsTerminal ? 'text' : 'json')
  if (format !== 'json' && format !== 'text') throw new ConfigError(`LOG_FORMAT=${format} must be json or text`)
  const level = get('LOG_LEVEL') ?? 'info'
  if (!(LEVELS as readonly string[]).includes(level)) throw new ConfigError(`LOG_LEVEL=${level} must be one of ${LEVELS.join(', ')}`)
  const out: OpsSettings = { logFormat: format, logLevel: level as Level }
  const token = get('METRICS_TOKEN')
  if (token !== undefined) {
    if (token.length < MIN_METRICS_TOKEN_LENGTH) throw new ConfigError(`METRICS_TOKEN must be at least ${MIN_METRICS_TOKEN_LENGTH} characters`)
    out.metricsToken = token
  }
  const port = get('METRICS_PORT')
  if (port !== undefined) {
    const n = Number(port)
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`METRICS_PORT=${port} must be a port number (0 to 65535; 0: any free port)`)
    out.metricsPort = n
  }
  return out
}
