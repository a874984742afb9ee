/**
 * Structured logs: one line per event, JSON (what log collectors and Workers
 * Logs index) or text (for a person at a terminal), filtered by level. Events
 * a client can cause at will (refusals, closes) go through `limited`, so a
 * flood of them cannot flood the log: past a budget per kind and second they
 * are counted and reported in one line.
 */

/** Log levels, most severe first. */
export const LEVELS = ['error', 'warn', 'info', 'debug'] as const
/** A log level. */
export type Level = (typeof LEVELS)[number]
/** A line's format. */
export type LogFormat = 'json' | 'text'

/** A field's value: plain values only (nested records for the start-up configuration). */
export type FieldValue = string | number | boolean | undefined | Readonly<Record<string, string | number | boolean | undefined>>
/** A line's fields besides time, level and msg. */
export type Fields = Readonly<Record<string, FieldValue>>

/** How a logger writes. */
export interface LoggerOptions {
  level: Level
  format: LogFormat
  /** Where a finished line goes; default console.log (stdout on every runtime, Workers Logs on Cloudflare). */
  write?: (line: string) => void
  /** Wall-clock time for the line's `time`. */
  now?: () => number
  /** Lines of one kind per second written by `limited` before the rest are only counted. */
  burst?: number
}

const RANK: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 }
/** Upper bound on a string field, so an attacker-chosen value (a path, say) cannot make a line huge; a stack fits. */
const MAX_FIELD = 2048

/** Lines of one kind in the current one-second window. */
interface Budget {
  window: number
  written: number
  suppressed: number
  level: Level
}

/** A leveled, structured logger. */
export class Logger {
  readonly level: Level
  readonly format: LogFormat
  private readonly rank: number
  private readonly write: (line: string) => void
  private readonly now: () => number
  private readonly burst: number
  private readonly budgets = new Map<string, Budget>()
  private flushTimer: unknown = undefined

  constructor(options: LoggerOptions) {
    this.level = options.level
    this.format = options.format
    this.rank = RANK[options.level]
    this.write = options.write ?? ((line) => console.log(line))
    this.now = options.now ?? Date.now
    this.burst = options.burst ?? 50
  }

  /** Whether lines at `level` are written. */
  enabled(level: Level): boolean {
    return RANK[level] <= this.rank
  }

  error(msg: string, fields?: Fields): void {
    this.log('error', msg, fields)
  }
  warn(msg: string, fields?: Fields): void {
    this.log('warn', msg, fields)
  }
  info(msg: string, fields?: Fields): void {
    this.log('info', msg, fields)
  }
  debug(msg: string, fields?: Fields): void {
    this.log('debug', msg, fields)
  }

  /**
   * A start-up line (the configuration, where the server listens): written whatever LOG_LEVEL says,
   * marked info, since people and scripts wait for it.
   */
  startup(msg: string, fields?: Fields): void {
    this.write(this.format === 'json' ? jsonLine(this.now(), 'info', msg, fields) : textLine(this.now(), 'info', msg, fields))
  }

  /** Write one line at `level`, if enabled. */
  log(level: Level, msg: string, fields?: Fields): void {
    if (RANK[level] > this.rank) return
    this.write(this.format === 'json' ? jsonLine(this.now(), level, msg, fields) : textLine(this.now(), level, msg, fields))
  }

  /**
   * Write a line of kind `key` (such as `close:flooding`) unless `burst` of that kind were
   * written this second; those past it are counted and reported once the second is over.
   * Returns whether it was written, so a caller can skip work for a suppressed line.
   */
  limited(key: string, level: Level, msg: string, fields?: Fields): boolean {
    if (RANK[level] > this.rank) return false
    const window = Math.floor(this.now() / 1000)
    let b = this.budgets.get(key)
    if (b === undefined) {
      b = { window, written: 0, suppressed: 0, level }
      this.budgets.set(key, b)
    } else if (b.window !== window) {
      this.report(key, b)
      b.window = window
      b.written = 0
    }
    if (b.written < this.burst) {
      b.written++
      this.log(level, msg, fields)
      return true
    }
    b.suppressed++
    this.flushSoon()
    return false
  }

  /** Would `limited(key, level, ...)` write now? (For a line whose fields cost something to gather.) */
  wouldWrite(key: string, level: Level): boolean {
    if (RANK[level] > this.rank) return false
    const b = this.budgets.get(key)
    return b === undefined || b.window !== Math.floor(this.now() / 1000) || b.written < this.burst
  }

  private report(key: string, b: Budget): void {
    if (b.suppressed === 0) return
    this.log(b.level, 'similar lines suppressed', { kind: key, suppressed: b.suppressed })
    b.suppressed = 0
  }

  /** Report what was suppressed once the second is over, even if no further line of that kind comes. */
  private flushSoon(): void {
    if (this.flushTimer !== undefined) return
    const t = setTimeout(() => {
      this.flushTimer = undefined
      const window = Math.floor(this.now() / 1000)
      for (const [key, b] of this.budgets) {
        if (b.window !== window) {
          this.report(key, b)
          this.budgets.delete(key)
        }
      }
      if ([...this.budgets.values()].some((b) => b.suppressed > 0)) this.flushSoon()
    }, 1000)
    ;(t as { unref?: () => void }).unref?.()
    this.flushTimer = t
  }
}

function clip(v: string): string {
  return v.length > MAX_FIELD ? `${v.slice(0, MAX_FIELD)}...` : v
}

function jsonLine(now: number, level: Level, msg: string, fields: Fields | undefined): string {
  const o: Record<string, unknown> = { time: new Date(now).toISOString(), level, msg }
  if (fields !== undefined) {
    for (const k of Object.keys(fields)) {
      const v = fields[k]
      if (v !== undefined) o[k] = typeof v === 'string' ? clip(v) : v
    }
  }
  return JSON.stringify(o)
}

/** A text value: bare when it is one plain word, else JSON-quoted, so a line always splits back into its fields. */
function textValue(v: Exclude<FieldValue, undefined>): string {
  if (typeof v === 'object') return JSON.stringify(v)
  const s = typeof v === 'string' ? clip(v) : String(v)
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s)
}

function textLine(now: number, level: Level, msg: string, fields: Fields | undefined): string {
  let line = `${new Date(now).toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`
  if (fields !== undefined) {
    for (const k of Object.keys(fields)) {
      const v = fields[k]
      if (v !== undefined) line += ` ${k}=${textValue(v)}`
    }
  }
  return line
}

/** An error as log fields: its message, and its stack where there is one. */
export function errorFields(err: unknown): { error: string; stack?: string } {
  if (err instanceof Error) return err.stack === undefined ? { error: err.message } : { error: err.message, stack: err.stack }
  return { error: String(err) }
}
