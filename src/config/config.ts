/** Options and their defaults, read from an env-like record (process.env, Deno.env, a Worker's env). */

import { isRoomName } from '../wire/names.ts'
import type { AccessConfig } from './access-config.ts'
import { readAccess } from './access-config.ts'
import { ConfigError } from './config-error.ts'

export interface Config {
  /** Room joined by an upgrade on `/`. */
  defaultRoom: string
  /** Largest frame (and HTTP publish body) in bytes; larger frames close with 1009. */
  maxFrameBytes: number
  /** Sustained publishes per second per connection. */
  rateLimit: number
  /** Publishes a connection may make at once before the rate applies. */
  rateBurst: number
  /** Frames dropped for rate within 10 s before the connection is closed with 1008. */
  floodStrikes: number
  /** Bad json-mode frames per minute per connection before close 1008. */
  badFrameBudget: number
  /** Members per room; past it the upgrade is refused (503) or the connection closed with 1013. */
  maxRoomConnections: number
  /** Unsent bytes per connection before it is closed with 1013 as a slow consumer. */
  maxBufferedBytes: number
  /** Messages kept per room for resume. */
  historyMessages: number
  /** Bytes of message bodies kept per room for resume. */
  historyBytes: number
  /** Bytes of message bodies kept for resume across every room of one instance (in memory); past it the least recently used rooms lose their oldest. */
  historyTotalBytes: number
  /** Rooms one instance holds at once; past it a new room is refused (503 too_many_rooms), existing rooms keep working. */
  maxRooms: number
  /** How long a publish id (or HTTP Idempotency-Key) is remembered per room, so a resend is not published twice. */
  dedupeWindowMs: number
  /** Publish ids remembered per room; past it the oldest is forgotten first, even inside the window. */
  dedupeMaxIds: number
  /** A connection with no frame and no pong for this long is closed. */
  idleTimeoutMs: number
  /** How often the server pings where the runtime lets it. */
  pingIntervalMs: number
  /** Presence frames are coalesced to at most one per room per interval. */
  presenceIntervalMs: number
  /** How long an empty room keeps its history in memory before it is dropped. */
  roomTtlMs: number
  /** WebSocket upgrades one client address may start per second; past it: 429. */
  maxUpgradesPerIp: number
  /** Members across all rooms of one instance; past it the upgrade gets 503. */
  maxConnections: number
  /** HTTP publishes one client address may make per second without PUBLISH_KEY; past it: 429. */
  maxPublishesPerIp: number
  /** How long an application hook (in-process or HTTP) may take before its request is refused with `hook_timeout`. */
  hookTimeoutMs: number
  /** Rooms one protocol v2 connection may subscribe to at once; past it: `too_many_subscriptions`. */
  maxSubscriptions: number
  /** How long a sub's last connection must be gone before v2 presence says it left (no flap on a reload). */
  presenceGraceMs: number
  /** Subs a v2 presence roster lists; past it the roster is `truncated` and diffs carry counts only. */
  presenceMaxMembers: number
  /** Origins, token keys and the publish key (see access-config.ts). */
  access: AccessConfig
}

/** Defaults, in one place. */
export const defaults: Config = {
  defaultRoom: 'lobby',
  maxFrameBytes: 64 * 1024,
  rateLimit: 50,
  rateBurst: 100,
  floodStrikes: 100,
  badFrameBudget: 20,
  maxRoomConnections: 10_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  historyMessages: 1000,
  historyBytes: 1024 * 1024,
  historyTotalBytes: 256 * 1024 * 1024,
  maxRooms: 10_000,
  dedupeWindowMs: 120_000,
  dedupeMaxIds: 10_000,
  idleTimeoutMs: 60_000,
  pingIntervalMs: 20_000,
  presenceIntervalMs: 100,
  roomTtlMs: 10 * 60_000,
  maxUpgradesPerIp: 20,
  maxConnections: 100_000,
  maxPublishesPerIp: 50,
  hookTimeoutMs: 5000,
  maxSubscriptions: 100,
  presenceGraceMs: 3000,
  presenceMaxMembers: 1000,
  access: { allowedOrigins: [] },
}

/** Environment variable for each option. */
export const envNames: Record<Exclude<keyof Config, 'access'>, string> = {
  defaultRoom: 'DEFAULT_ROOM',
  maxFrameBytes: 'MAX_FRAME_BYTES',
  rateLimit: 'RATE_LIMIT',
  rateBurst: 'RATE_BURST',
  floodStrikes: 'FLOOD_STRIKES',
  badFrameBudget: 'BAD_FRAME_BUDGET',
  maxRoomConnections: 'MAX_ROOM_CONNECTIONS',
  maxBufferedBytes: 'MAX_BUFFERED_BYTES',
  historyMessages: 'HISTORY_MESSAGES',
  historyBytes: 'HISTORY_BYTES',
  historyTotalBytes: 'HISTORY_TOTAL_BYTES',
  maxRooms: 'MAX_ROOMS',
  dedupeWindowMs: 'DEDUPE_WINDOW_MS',
  dedupeMaxIds: 'DEDUPE_MAX_IDS',
  idleTimeoutMs: 'IDLE_TIMEOUT_MS',
  pingIntervalMs: 'PING_INTERVAL_MS',
  presenceIntervalMs: 'PRESENCE_INTERVAL_MS',
  roomTtlMs: 'ROOM_TTL_MS',
  maxUpgradesPerIp: 'MAX_UPGRADES_PER_IP',
  maxConnections: 'MAX_CONNECTIONS',
  maxPublishesPerIp: 'MAX_PUBLISHES_PER_IP',
  hookTimeoutMs: 'HOOK_TIMEOUT_MS',
  maxSubscriptions: 'MAX_SUBSCRIPTIONS',
  presenceGraceMs: 'PRESENCE_GRACE_MS',
  presenceMaxMembers: 'PRESENCE_MAX_MEMBERS',
}

/** Read the config from an env-like record; unknown keys are ignored, bad values throw ConfigError. */
export function readConfig(env: Record<string, string | undefined>): Config {
  const out: Config = { ...defaults, access: readAccess(env) }
  for (const key of Object.keys(envNames) as (keyof typeof envNames)[]) {
    const name = envNames[key]
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    if (key === 'defaultRoom') {
      if (!isRoomName(raw)) throw new ConfigError(`${name}=${raw} is not a valid room name`)
      out.defaultRoom = raw
      continue
    }
    out[key] = parseCount(name, raw, key === 'presenceIntervalMs' || key === 'presenceGraceMs')
  }
  return out
}

/** An integer setting: positive (or, with `zeroOk`, zero or more); anything else throws ConfigError naming the variable. */
function parseCount(name: string, raw: string, zeroOk = false): number {
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0 || (n === 0 && !zeroOk)) throw new ConfigError(`${name}=${raw} must be a positive integer`)
  return n
}

/** A positive integer variable outside `Config` (an adapter's own setting), or `fallback` when unset. */
export function readPositiveInt(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name]
  return raw === undefined || raw === '' ? fallback : parseCount(name, raw)
}

/** Where a long-running server (Node, Deno, Bun) listens. */
export interface Listen {
  port: number
  hostname: string
}

/** `PORT` (default 3000; 0: any free port) and `HOST` (default 0.0.0.0). */
export function readListen(env: Record<string, string | undefined>): Listen {
  const raw = env.PORT
  const port = raw === undefined || raw === '' ? 3000 : parseCount('PORT', raw, true)
  if (port > 65535) throw new ConfigError(`PORT=${raw} must be at most 65535`)
  return { port, hostname: env.HOST || '0.0.0.0' }
}

/** The line a server prints once it listens: people open the URL, and tests read the port from it. */
export function listeningLine(hostname: string, port: number): string {
  return `roomcast listening on http://${hostname === '0.0.0.0' ? 'localhost' : hostname}:${port}`
}
