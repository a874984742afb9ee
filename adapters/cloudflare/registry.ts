/**
 * Cloudflare: the room registry, one Durable Object (named REGISTRY_NAME) that
 * room objects report to, so rooms can be listed at all: the platform cannot
 * enumerate a namespace's objects (partykit#200). A room reports when it
 * wakes, at most every REPORT_MS while busy, and when it empties (see
 * room.ts); the listing and the dashboard's figures read only this
 * object, so listing never wakes a room. Rows of rooms empty for longer than
 * ROOM_TTL_MS are pruned; a room's next wake brings it back.
 */
import { DurableObject } from 'cloudflare:workers'
import type { RoomCostReport, RoomListing, RoomPage } from '../../src/index.ts'
import { encodeCursor, readConfig } from '../../src/index.ts'

/** The name of the one registry object (idFromName). */
export const REGISTRY_NAME = 'roomcast-registry'

/** What a room object sends at each report. */
export interface RoomReport {
  room: string
  connections: number
  seq: number
  historyBytes: number
  messagesPerSecond: number
  deliveriesPerSecond: number
  cost: RoomCostReport
  /** Unix ms until which the object is in memory if nothing else happens (its flush plus the runtime's idle time). */
  awakeUntil: number
}

/** The registry's sums, for `GET /admin/stats`. */
export interface RegistrySummary {
  rooms: number
  connections: number
  messagesPerSecond: number
  deliveriesPerSecond: number
  messages: number
  deliveries: number
  busiest: RoomListing[]
  /** Reports received since the registry's storage was created, and since when. */
  reports: number
  since: number
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS rooms (
    room TEXT PRIMARY KEY, connections INTEGER NOT NULL, seq INTEGER NOT NULL, history_bytes INTEGER NOT NULL,
    mps REAL NOT NULL, dps REAL NOT NULL, since INTEGER NOT NULL, wake_ups INTEGER NOT NULL, awake_ms INTEGER NOT NULL,
    hibernated_ms INTEGER NOT NULL, auto_responses INTEGER NOT NULL, messages INTEGER NOT NULL,
    deliveries INTEGER NOT NULL, reports INTEGER NOT NULL, alarms INTEGER NOT NULL, awake_until INTEGER NOT NULL, reported_at INTEGER NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS rooms_idle ON rooms (connections, reported_at)',
  'CREATE TABLE IF NOT EXISTS registry_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)',
]
const UPSERT = `INSERT INTO rooms (room, connections, seq, history_bytes, mps, dps, since, wake_ups, awake_ms, hibernated_ms,
    auto_responses, messages, deliveries, reports, alarms, awake_until, reported_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
  ON CONFLICT(room) DO UPDATE SET connections = excluded.connections, seq = excluded.seq, history_bytes = excluded.history_bytes,
    mps = excluded.mps, dps = excluded.dps, since = excluded.since, wake_ups = excluded.wake_ups, awake_ms = excluded.awake_ms,
    hibernated_ms = excluded.hibernated_ms, auto_responses = excluded.auto_responses, messages = excluded.messages,
    deliveries = excluded.deliveries, reports = rooms.reports + 1, alarms = excluded.alarms, awake_until = excluded.awake_until, reported_at = excluded.reported_at`
const COLUMNS =
  'room, connections, seq, history_bytes, mps, dps, since, wake_ups, awake_ms, hibernated_ms, auto_responses, messages, deliveries, reports, alarms, awake_until, reported_at'
/** A row's rate while its room is awake, 0 once it sleeps (the one binding: now). */
const LIVE_MPS = 'CASE WHEN awake_until > ? THEN mps ELSE 0 END'
const LIVE_DPS = 'CASE WHEN awake_until > ? THEN dps ELSE 0 END'
/** Prune at most this often: each prune reads the index. */
const PRUNE_EVERY_MS = 60_000

type Row = Record<string, SqlStorageValue>

/** The room registry object. */
export class RegistryObject extends DurableObject<Record<string, unknown>> {
  private readonly sql: SqlStorage
  private readonly ttlMs: number
  private lastPrune = 0

  constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    this.ttlMs = readConfig(env as Record<string, string | undefined>).roomTtlMs
    for (const q of SCHEMA) this.sql.exec(q)
    this.sql.exec("INSERT OR IGNORE INTO registry_meta (key, value) VALUES ('since', ?)", Date.now())
  }

  /** A room object's report. */
  report(r: RoomReport): void {
    const now = Date.now()
    const c = r.cost
    this.sql.exec(
      UPSERT,
      r.room,
      r.connections,
      r.seq,
      r.historyBytes,
      r.messagesPerSecond,
      r.deliveriesPerSecond,
      c.since,
      c.wakeUps,
      c.awakeMs,
      c.hibernatedMs,
      c.autoResponses,
      c.messages,
      c.deliveries,
      c.alarms ?? 0,
      r.awakeUntil,
      now,
    )
    this.sql.exec("INSERT INTO registry_meta (key, value) VALUES ('reports', 1) ON CONFLICT(key) DO UPDATE SET value = value + 1")
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now
      this.sql.exec('DELETE FROM rooms WHERE connections = 0 AND reported_at < ?', now - this.ttlMs)
    }
  }

  /** `GET /admin/rooms`: rooms after `after`, in name order. */
  list(limit: number, after: string | undefined): RoomPage {
    const rows = this.sql.exec(`SELECT ${COLUMNS} FROM rooms WHERE room > ? ORDER BY room LIMIT ?`, after ?? '', limit + 1).toArray()
    const rooms = rows.slice(0, limit).map((row) => summary(row, Date.now()))
    const last = rooms[rooms.length - 1]
    return rows.length > limit && last !== undefined ? { rooms, cursor: encodeCursor(last.room) } : { rooms }
  }

  /** One room's row, if it ever reported. */
  get(room: string): RoomListing | undefined {
    const row = this.sql.exec(`SELECT ${COLUMNS} FROM rooms WHERE room = ?`, room).toArray()[0]
    return row === undefined ? undefined : summary(row, Date.now())
  }

  /** The sums the dashboard shows. */
  summary(busiest: number): RegistrySummary {
    const now = Date.now()
    // A room that went to sleep publishes nothing: its last reported rate counts only while it is awake.
    const [totals = {}] = this.sql
      .exec(
        `SELECT COUNT(*) AS rooms, COALESCE(SUM(connections), 0) AS connections, COALESCE(SUM(${LIVE_MPS}), 0) AS mps, COALESCE(SUM(${LIVE_DPS}), 0) AS dps,
          COALESCE(SUM(messages), 0) AS messages, COALESCE(SUM(deliveries), 0) AS deliveries FROM rooms`,
        now,
        now,
      )
      .toArray()
    const top = this.sql.exec(`SELECT ${COLUMNS} FROM rooms ORDER BY ${LIVE_MPS} DESC, connections DESC, room LIMIT ?`, now, busiest).toArray()
    const meta = new Map(
      this.sql
        .exec('SELECT key, value FROM registry_meta')
        .toArray()
        .map((r) => [String(r.key), Number(r.value)]),
    )
    return {
      rooms: Number(totals.rooms ?? 0),
      connections: Number(totals.connections ?? 0),
      messagesPerSecond: Number(totals.mps ?? 0),
      deliveriesPerSecond: Number(totals.dps ?? 0),
      messages: Number(totals.messages ?? 0),
      deliveries: Number(totals.deliveries ?? 0),
      busiest: top.map((row) => summary(row, now)),
      reports: meta.get('reports') ?? 0,
      since: meta.get('since') ?? now,
    }
  }
}

function summary(row: Row, now: number): RoomListing {
  const n = (k: string) => Number(row[k] ?? 0)
  return {
    room: String(row.room),
    connections: n('connections'),
    seq: n('seq'),
    historyBytes: n('history_bytes'),
    messagesPerSecond: n('awake_until') > now ? n('mps') : 0,
    cost: {
      since: n('since'),
      wakeUps: n('wake_ups'),
      awakeMs: n('awake_ms'),
      hibernatedMs: n('hibernated_ms'),
      autoResponses: n('auto_responses'),
      messages: n('messages'),
      deliveries: n('deliveries'),
      reports: n('reports'),
      alarms: n('alarms'),
      awake: n('awake_until') > now,
      reportedAt: n('reported_at'),
    },
  }
}
