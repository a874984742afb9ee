/**
 * Cloudflare: what a room object tells about itself. It keeps its cost
 * (src/admin/room-cost.ts) across wakes in its own SQLite, reports to the
 * registry (registry.ts) and logs one JSON line when it wakes and
 * one when it goes idle.
 *
 * Nothing runs just before an object hibernates, so that happens at a flush,
 * and the flush must not cost what it measures: a pending setTimeout would
 * keep the object billed (an object is billed while it cannot hibernate), so
 * the flush after activity is the object's alarm, which does not hold it. The
 * alarm is shared with credential expiry: it is set for whichever comes first.
 *
 * - While events come, the object flushes within them, at most every REPORT_MS.
 * - FLUSH_MS after the last event the alarm finds the room quiet: the final
 *   flush before it hibernates, reporting whatever changed.
 * - A flush reports when something changed (members, messages) and the room
 *   just woke, went quiet, or last reported REPORT_MS ago.
 * - An alarm that woke the object by itself (an expiry, the idle reaper's look) is flushed at once.
 * A room that only holds raw members, or json and v2 members answering pings, runs only for the idle
 * reaper's looks (room.ts): one alarm each, at most every IDLE_TIMEOUT_MS / 2.
 */

import type { CostState, Room, RoomCostReport } from '../../src/index.ts'
import { EVICT_AFTER_MS, RoomCost, countAutoResponses } from '../../src/index.ts'
import type { RegistryObject, RoomReport } from './registry.ts'

/** How long without events makes a room quiet: its last flush comes this long after its last event. */
export const FLUSH_MS = 1000
/** While a room stays busy, it flushes and reports at most this often, and its alarm looks in this often. */
export const REPORT_MS = 10_000
/**
 * While busy, the alarm looks again this long after the latest event: an alarm per few seconds of activity at
 * most (each is billed as a request), and the final flush well within EVICT_AFTER_MS, so it never wakes the object.
 */
const BUSY_RECHECK_MS = 5000

const COST_SCHEMA = 'CREATE TABLE IF NOT EXISTS roomcast_cost (id INTEGER PRIMARY KEY, state TEXT NOT NULL)'

/** One room object's cost, reports and wake/idle lines. */
export class RoomReporter {
  private readonly cost: RoomCost
  private readonly sql: SqlStorage
  private readonly saved: CostState | undefined
  private room: Room | undefined
  private readonly pings = new WeakMap<WebSocket, number>()
  /** Whether the room has storage, members or messages: a room only asked about is never written or reported. */
  private real: boolean
  private woke = true
  private nameSaved = false
  private wakePings = 0
  private lastEventAt = 0
  private lastFlushAt: number
  private flushAt = Number.POSITIVE_INFINITY
  /** The other deadlines the alarm serves, by name, and what runs when each is due. */
  private readonly deadlines = new Map<string, { at: number; run: () => void }>()
  private armedAt = Number.POSITIVE_INFINITY
  private inAlarm = false
  /** Whether an event or the alarm has run since the object started (arm() waits for it). */
  private started = false
  private last = { at: 0, connections: -1, messages: -1, deliveries: 0, seq: -1 }
  /** Figures at the start of this awake period, for the idle line. */
  private readonly periodStart: { messages: number; deliveries: number; reports: number }

  /** The room's name: the one the object was created by, else the one it saved (an object its alarm started is not told it). */
  readonly name: string

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly registry: (() => DurableObjectStub<RegistryObject>) | undefined,
  ) {
    this.sql = ctx.storage.sql
    this.saved = this.load()
    const now = Date.now()
    this.name = ctx.id.name ?? this.saved?.room ?? ctx.id.toString()
    this.cost = new RoomCost(this.saved, now, this.name)
    this.lastFlushAt = now
    this.real = this.saved !== undefined
    const { messages, deliveries, reports } = this.cost.state
    this.periodStart = { messages, deliveries, reports }
  }

  /** The room, once its members are restored: count the pings answered while it slept, and say it woke. */
  attach(room: Room): void {
    this.room = room
    const sockets = this.ctx.getWebSockets()
    if (sockets.length > 0) this.real = true
    const now = Date.now()
    // Sockets whose last auto-response came after the last flush were answered while the object slept.
    this.wakePings = countAutoResponses(sockets, (ws) => this.autoResponseAt(ws), this.pings, this.saved?.lastActive ?? now)
    if (!this.real) return
    line('room woke', {
      room: room.name,
      connections: sockets.length,
      wakeUps: this.cost.state.wakeUps,
      sleptMs: this.cost.slept,
      autoResponsesWhileAsleep: this.wakePings,
    })
  }

  /** The room's `scheduleExpiry`: the alarm also serves credential expiry. */
  scheduleExpiry(at: number): void {
    this.schedule('expiry', at, () => this.room?.expire())
  }

  /** Run `run` at `at` (Unix ms) from the alarm, replacing `key`'s earlier deadline. */
  schedule(key: string, at: number, run: () => void): void {
    this.deadlines.set(key, { at, run })
    this.arm()
  }

  /** When `key` is due (Infinity: not scheduled). */
  due(key: string): number {
    return this.deadlines.get(key)?.at ?? Number.POSITIVE_INFINITY
  }

  /** Something happened (an event, a request). */
  activity(): void {
    this.started = true
    const now = Date.now()
    this.lastEventAt = now
    if (this.flushAt === Number.POSITIVE_INFINITY) {
      this.flushAt = now + FLUSH_MS
      this.arm()
    }
    if (now - this.lastFlushAt >= REPORT_MS) this.flush(now, false)
  }

  /** The object's alarm: expire credentials and flush, whichever is due. */
  onAlarm(): void {
    this.armedAt = Number.POSITIVE_INFINITY
    this.started = true
    // One setAlarm for the handler, at its end, for the first of everything its tasks scheduled.
    this.inAlarm = true
    this.cost.state.alarms = (this.cost.state.alarms ?? 0) + 1
    const now = Date.now()
    for (const [key, d] of [...this.deadlines]) {
      if (d.at > now) continue
      this.deadlines.delete(key)
      // A task may schedule itself again (expiry re-watches the members' expiries, the reaper its next look).
      d.run()
    }
    if (this.flushAt <= now) {
      this.flushAt = Number.POSITIVE_INFINITY
      if (now - this.lastEventAt >= FLUSH_MS) this.flush(now, true)
      else this.flushAt = this.lastEventAt + BUSY_RECHECK_MS
    }
    // Woken by the alarm alone (an expiry, the reaper's look after hibernation): that wake is flushed at once,
    // not by a second alarm; what the tasks closed comes back as events, which flush as usual.
    if (this.lastEventAt === 0) {
      this.lastEventAt = now
      this.flush(now, true)
    }
    this.inAlarm = false
    this.arm()
  }

  /** The room was joined or published to: the first time, save its name at once (its alarm may start it before any flush). */
  touched(): void {
    if (this.saved?.room === this.name || this.nameSaved || this.room === undefined) return
    this.nameSaved = true
    this.real = true
    this.persist(this.account(Date.now()))
  }

  /** The figures as they stand now (for `GET /admin/rooms/:room`). */
  current(): RoomCostReport {
    this.account(Date.now())
    return this.cost.report()
  }

  private arm(): void {
    // Not before the object's first event: a setAlarm from the constructor (the members' expiries, the reaper's
    // next look) would move the alarm that may be what woke it, and its handler would then not run.
    if (this.inAlarm || !this.started) return
    let at = this.flushAt
    for (const d of this.deadlines.values()) at = Math.min(at, d.at)
    if (at === Number.POSITIVE_INFINITY || at === this.armedAt) return
    this.armedAt = at
    this.ctx.storage.setAlarm(at).catch((err) => line('setAlarm failed', { room: this.room?.name, error: String(err) }, 'warn'))
  }

  /** Called at each flush, before the cost is saved: what else the object keeps up to date in storage (room.ts: when a frame last came). */
  onFlush: (() => void) | undefined = undefined

  private flush(now: number, quiet: boolean): void {
    const room = this.room
    if (room === undefined) return
    this.lastFlushAt = now
    this.onFlush?.()
    if (!this.real && room.size === 0 && room.traffic.messages === 0) return
    this.real = true
    const state = this.account(now)
    this.persist(state)
    void this.maybeReport(room, now, quiet)
    if (quiet) {
      line('room idle', {
        room: room.name,
        connections: room.size,
        awakeMs: now - this.cost.wokeAt,
        messages: state.messages - this.periodStart.messages,
        deliveries: state.deliveries - this.periodStart.deliveries,
        reports: state.reports - this.periodStart.reports,
        hibernatesInMs: EVICT_AFTER_MS,
      })
    }
  }

  private account(now: number): CostState {
    const room = this.room
    const pings = countAutoResponses(this.ctx.getWebSockets(), (ws) => this.autoResponseAt(ws), this.pings, now) + this.wakePings
    this.wakePings = 0
    return this.cost.flush(now, room?.traffic ?? { messages: 0, deliveries: 0 }, pings)
  }

  private async maybeReport(room: Room, now: number, quiet: boolean): Promise<void> {
    if (this.registry === undefined) return
    const connections = room.size
    const { seq } = await room.stats()
    const state = this.cost.state
    const changed = connections !== this.last.connections || state.messages !== this.last.messages || seq !== this.last.seq
    const due = this.woke || quiet || now - this.last.at >= REPORT_MS
    if (!changed || !due) return
    const first = this.last.messages < 0
    const seconds = Math.max(1, (now - (first ? this.cost.wokeAt : this.last.at)) / 1000)
    const rate = (n: number) => Math.round((n / seconds) * 100) / 100
    const messages = state.messages - (first ? this.periodStart.messages : this.last.messages)
    const deliveries = state.deliveries - (first ? this.periodStart.deliveries : this.last.deliveries)
    this.woke = false
    this.last = { at: now, connections, messages: state.messages, deliveries: state.deliveries, seq }
    state.reports++
    this.persist(state)
    const report: RoomReport = {
      room: room.name,
      connections,
      seq,
      historyBytes: room.historyBytes() ?? 0,
      messagesPerSecond: rate(messages),
      deliveriesPerSecond: rate(deliveries),
      cost: this.cost.report(),
      awakeUntil: now + EVICT_AFTER_MS,
    }
    try {
      await this.registry().report(report)
    } catch (err) {
      line('registry report failed', { room: room.name, error: String(err) }, 'warn')
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
