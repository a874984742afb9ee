/**
 * What an operator sees of one server instance: its metrics, its log and
 * their settings, and the events that are both counted and logged (closes,
 * refusals, connections). One per instance, passed to the Hub, its rooms and
 * the app; the core never reaches for a global.
 */

import type { ErrorCode } from '../wire/errors.ts'
import { Errors } from '../wire/errors.ts'
import type { Level } from './logger.ts'
import { Logger } from './logger.ts'
import type { FrameRefusal, PublishSource } from './metrics.ts'
import { Metrics } from './metrics.ts'
import type { OpsSettings } from './settings.ts'
import { readOpsSettings } from './settings.ts'

/** Who a line is about: a member's info as the room keeps it (MemberInfo fits). */
export interface Who {
  id?: string
  ip?: string
  /** The token's `sub`: an identity, shown to every member as `from`, so not a secret. */
  from?: string
  mode?: string
}

/** Codes that mean a client is abusing the server, logged at warn. */
const ABUSE = new Set<string>(['flooding', 'too_many_errors'])

const NOOP = () => {}

/** The metrics, log and settings of one instance. */
export class Ops {
  constructor(
    readonly settings: OpsSettings,
    readonly metrics: Metrics = new Metrics(),
    readonly log: Logger = new Logger({ level: settings.logLevel, format: settings.logFormat }),
  ) {}

  /** The ops an environment asks for (METRICS_TOKEN, METRICS_PORT, LOG_FORMAT, LOG_LEVEL); bad values throw ConfigError. */
  static fromEnv(env: Record<string, string | undefined>, stdoutIsTerminal = false, write?: (line: string) => void): Ops {
    const settings = readOpsSettings(env, stdoutIsTerminal)
    const options = write === undefined ? {} : { write }
    return new Ops(settings, new Metrics(), new Logger({ level: settings.logLevel, format: settings.logFormat, ...options }))
  }

  /** Ops for a core built without any (unit tests, embedding): counted, and only errors logged, as text. */
  static quiet(): Ops {
    return new Ops({ logFormat: 'text', logLevel: 'error' })
  }

  // ---- members ----

  /** A member joined `room` (debug). */
  connected(room: string | undefined, who: Who): void {
    if (this.log.enabled('debug')) this.log.debug('connected', { room, ...whoFields(who), mode: who.mode })
  }

  /** A member's socket closed from its side (debug). */
  disconnected(room: string | undefined, who: Who): void {
    if (this.log.enabled('debug')) this.log.debug('disconnected', { room, ...whoFields(who) })
  }

  /** The server closed a member (or a connection it could not admit) with `code`: counted, and one line (warn for abuse). */
  closed(room: string | undefined, code: ErrorCode, who: Who): void {
    this.metrics.closes.add(code)
    const level: Level = ABUSE.has(code) ? 'warn' : 'info'
    this.log.limited(`close:${code}`, level, 'closed', { code, close: Errors[code].close ?? 1000, room, ...whoFields(who) })
  }

  /** A frame was refused with the connection kept open (an error frame, or a silent drop in raw mode). */
  refusedFrame(room: string | undefined, code: FrameRefusal, who: Who, reason?: string): void {
    this.metrics.framesRefused.add(code)
    this.log.limited(`frame:${code}`, 'info', 'frame refused', { code, room, ...whoFields(who), reason })
  }

  /**
   * Time a publish from now until its seq is assigned, and count it by source once it is.
   * Returns `appended` itself, so the caller's handlers run as before.
   */
  published(source: PublishSource, appended: Promise<number>): Promise<number> {
    const t0 = this.metrics.now()
    appended.then(() => this.appended(source, t0), NOOP)
    return appended
  }

  /** A publish from `source` that reached the room at `t0` (metrics.now()) has its seq: count it and its latency. */
  appended(source: PublishSource, t0: number): void {
    this.metrics.published.add(source)
    this.metrics.publishSeconds.observe((this.metrics.now() - t0) / 1000)
  }

  // ---- requests ----

  /** An HTTP answer with a refusal code (`X-Roomcast-Error`), or an accepted upgrade (`code` null): counted, refusals logged. */
  answered(request: RequestFacts, code: string | null, reason: () => Promise<string | undefined>): Promise<void> | undefined {
    if (request.upgrade) this.metrics.upgrades.add(code ?? 'accepted')
    else if (code !== null) this.metrics.httpRefusals.add(code)
    if (code === null) return undefined
    // Unknown routes and the metrics route itself are scanners and scrapers, not clients of rooms: counted, not logged.
    if (!request.upgrade && request.room === undefined) return undefined
    // Too many upgrades from one address is the door's answer to abuse.
    const level: Level = request.upgrade && code === 'rate_limited' ? 'warn' : 'info'
    const key = `${request.upgrade ? 'upgrade' : 'request'}:${code}`
    // The reason is read from the response body only for a line that will be written.
    if (!this.log.wouldWrite(key, level)) return undefined
    return reason().then((why) => {
      const fields = { code, status: request.status, room: request.room, ip: request.ip, reason: why }
      this.log.limited(
        key,
        level,
        request.upgrade ? 'upgrade refused' : 'request refused',
        request.upgrade ? fields : { ...fields, method: request.method, path: request.path },
      )
    })
  }
}

/** What a refused request's line says: never its query (an upgrade may carry `?token=`) nor any header. */
export interface RequestFacts {
  upgrade: boolean
  status: number
  method: string
  /** The path only, without the query. */
  path: string
  room?: string
  ip?: string
}

function whoFields(who: Who): { connectionId?: string; ip?: string; sub?: string } {
  return { connectionId: who.id, ip: who.ip, sub: who.from }
}
