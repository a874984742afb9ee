/**
 * Cloudflare: what a room object tells about itself. It keeps its cost
 * (src/admin/room-cost.ts) across wakes in its own SQLite, reports to the
 * registry (cloudflare-registry.ts) and logs one JSON line when it wakes and
 * one when it goes idle. Nothing runs just before an object hibernates, so
 * all of it happens at a flush FLUSH_MS after activity: then the object has
 * nothing pending and hibernates EVICT_AFTER_MS later.
 *
 * A flush reports when something changed (members, messages) and the room
 * just woke, went quiet (no event since the last flush: the last chance
 * before it hibernates) or last reported REPORT_MS ago. A room that only
 * holds sleeping members answering pings is never woken and costs nothing.
 */

import type { CostState, Room } from '../src/index.ts'
import { EVICT_AFTER_MS, RoomCost, countAutoResponses } from '../src/index.ts'
import type { RegistryObject, RoomReport } from './cloudflare-registry.ts'

/** How long after activity the object flushes (and so how much longer it stays in memory than it must). */
export const FLUSH_MS = 2000
/** While a room stays busy, it reports at most this often. */
export const REPORT_MS = 10_000

const COST_SCHEMA = 'CREATE TABLE IF NOT EXISTS roomcast_cost (id INTEGER PRIMARY KEY, state TEXT NOT NULL)'

/** One room object's cost, reports and wake/idle lines. */
export class RoomReporter {
  private readonly cost: RoomCost
  private readonly sql: SqlStorage
  private readonly pings = new WeakMap<WebSocket, number>()
  private timer: ReturnType<typeof setTimeout> | undefined
  /** Whether anything happened since the last flush. */
  private busy = false
  /** Whether the room has storage, members or messages: a room only asked about is never written or reported. */
  private real: boolean
  private woke = true
  private wakePings: number
  private last = { at: 0, connections: -1, messages: -1, deliveries: 0, seq: -1 }
  /** Figures of this awake period, for the idle line. */
  private readonly periodStart: { messages: number; deliveries: number; reports: number }

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly room: Room,
    private readonly registry: (() => DurableObjectStub<RegistryObject>) | undefined,
  ) {
    this.sql = ctx.storage.sql
    const saved = this.load()
    const now = Date.now()
    this.cost = new RoomCost(saved, now)
    const sockets = ctx.getWebSockets()
    this.real = saved !== undefined || sockets.length > 0
    // Pings answered while it slept: sockets whose last auto-response came after the last flush.
    this.wakePings = countAutoResponses(sockets, (ws) => this.autoResponseAt(ws), this.pings, saved?.lastActive ?? now)
    const { messages, deliveries, reports } = this.cost.state
    this.periodStart = { messages, deliveries, reports }
    if (this.real) {
      line('room woke', {
        room: room.name,
        connections: sockets.length,
        wakeUps: this.cost.state.wakeUps,
        sleptMs: this.cost.slept,
        autoResponsesWhileAsleep: this.wakePings,
      })
    }
  }

  /** Something happened (an event, a request): flush FLUSH_MS after the first of a burst, and again while it lasts. */
  activity(): void {
    if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), FLUSH_MS)
    else this.busy = true
  }

  /** The figures as they stand now (for `GET /admin/rooms/:room`), flushed first. */
  current(): ReturnType<RoomCost['report']> {
    this.account(Date.now())
    return this.cost.report()
  }

  private flush(): void {
    this.timer = undefined
    const quiet = !this.busy
    this.busy = false
    // While events keep coming, flush again; the first quiet flush is the last before the object hibernates.
    if (!quiet) this.timer = setTimeout(() => this.flush(), FLUSH_MS)
    if (!this.real && this.room.size === 0 && this.room.traffic.messages === 0) return
    this.real = true
    const now = Date.now()
    const state = this.account(now)
    this.persist(state)
    void this.maybeReport(now, quiet)
    if (quiet) {
      line('room idle', {
        room: this.room.name,
        connections: this.room.size,
        awakeMs: now - this.cost.wokeAt,
        messages: state.messages - this.periodStart.messages,
        deliveries: state.deliveries - this.periodStart.deliveries,
        reports: state.reports - this.periodStart.reports,
        hibernatesInMs: EVICT_AFTER_MS,
      })
    }
  }

  private account(now: number): CostState {
    const pings = countAutoResponses(this.ctx.getWebSockets(), (ws) => this.autoResponseAt(ws), this.pings, now) + this.wakePings
    this.wakePings = 0
    return this.cost.flush(now, this.room.traffic, pings)
  }

  private async maybeReport(now: number, quiet: boolean): Promise<void> {
    if (this.registry === undefined) return
    const connections = this.room.size
    const { seq } = await this.room.stats()
    const state = this.cost.state
    const changed = connections !== this.last.connections || state.messages !== this.last.messages || seq !== this.last.seq
    const due = this.woke || quiet || now - this.last.at >= REPORT_MS || (connections === 0 && this.last.connections !== 0)
    if (!changed || !due) return
    const since = this.last.at === 0 ? this.cost.wokeAt : this.last.at
    const first = this.last.messages < 0
    const seconds = Math.max(1, (now - since) / 1000)
    const rate = (n: number) => Math.round((n / seconds) * 100) / 100
    const messages = state.messages - (first ? this.periodStart.messages : this.last.messages)
    const deliveries = state.deliveries - (first ? this.periodStart.deliveries : this.last.deliveries)
    this.woke = false
    this.last = { at: now, connections, messages: state.messages, deliveries: state.deliveries, seq }
    state.reports++
    this.persist(state)
    const report: RoomReport = {
      room: this.room.name,
      connections,
      seq,
      historyBytes: this.room.historyBytes() ?? 0,
      messagesPerSecond: rate(messages),
      deliveriesPerSecond: rate(deliveries),
      cost: this.cost.report(),
      awakeUntil: now + EVICT_AFTER_MS,
    }
    try {
      await this.registry().report(report)
    } catch (err) {
      line('registry report failed', { room: this.room.name, error: String(err) }, 'warn')
    }
  }

  private autoResponseAt(ws: WebSocket): number | undefined {
    return this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime()
  }

  private load(): CostState | undefined {
    const exists = this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'roomcast_cost'").toArray().length > 0
    if (!exists) return undefined
    const row = this.sql.exec('SELECT state FROM roomcast_cost WHERE id = 0').toArray()[0]
    return row === undefined ? undefined : (JSON.parse(String(row.state)) as CostState)
  }

  private persist(state: CostState): void {
    this.sql.exec(COST_SCHEMA)
    this.sql.exec('INSERT INTO roomcast_cost (id, state) VALUES (0, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state', JSON.stringify(state))
  }
}

/** One JSON line through console.log, which Workers Logs index. */
function line(msg: string, fields: Record<string, unknown>, level: 'info' | 'warn' = 'info'): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }))
}
