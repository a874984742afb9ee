/** The rooms of one process (Node, Deno, Bun). On Cloudflare each room is its own Durable Object instead. */

import type { CodeCounts } from '../admin/admin.ts'
import type { RoomDirectory } from '../admin/directory.ts'
import type { Clock } from '../config/clock.ts'
import { realClock } from '../config/clock.ts'
import type { Config } from '../config/config.ts'
import type { Hooks } from '../hooks/hooks.ts'
import { memoryLogs } from '../log/memory-log.ts'
import type { LogFactory } from '../log/room-log.ts'
import type { InstanceView, ModeCounts } from '../ops/metrics.ts'
import { Ops } from '../ops/ops.ts'
import type { RoomStats } from '../room/room.ts'
import { Room } from '../room/room.ts'
import type { RosterPage } from '../room/roster.ts'
import type { Fanout } from '../room/topics.ts'
import type { ErrorCode } from '../wire/errors.ts'
import type { Session } from './session.ts'

export interface HubOptions {
  config: Config
  /** Where seq, history and cross-instance delivery come from; memory by default. */
  logs?: LogFactory
  clock?: Clock
  onError?: (err: unknown) => void
  /** Stats of a room this process does not have open, from a backend that spans instances; default: empty. */
  statsElsewhere?: (room: string) => Promise<RoomStats>
  /** A page of the v2 roster of a room this process does not have open, from a backend that spans instances; default: no members. */
  presenceElsewhere?: (room: string, limit: number, cursor?: string) => Promise<RosterPage>
  /** The runtime's native one-to-many send, where it has one (Bun). */
  fanout?: Fanout
  /** The application's hooks, handed to every room. */
  hooks?: Hooks
  /** The rooms of every instance, for the admin API, from a backend that spans instances (Redis). */
  directory?: RoomDirectory
  /** Refusals and closes by code for the admin dashboard, from the instance's metrics (admin/counts.ts). */
  counts?: CodeCounts
  /** This instance's metrics and log (ops/ops.ts); default: counted, and only errors logged. */
  ops?: Ops
}

/** The rooms of one process, created on first use and dropped when empty for `roomTtlMs`. */
export class Hub implements InstanceView {
  private readonly rooms = new Map<string, Room>()
  /** Protocol v2 connections (session.ts): each holds subscriptions that are members of rooms. */
  readonly sessions = new Set<Session>()
  private readonly options: Required<Omit<HubOptions, 'onError' | 'statsElsewhere' | 'presenceElsewhere' | 'fanout' | 'hooks' | 'directory' | 'counts'>> &
    Pick<HubOptions, 'onError' | 'statsElsewhere' | 'presenceElsewhere' | 'fanout' | 'hooks'>
  private timer: ReturnType<typeof setInterval> | undefined
  /** The rooms of every instance (Redis), when the backend spans instances. */
  readonly directory: RoomDirectory | undefined
  /** Refusals and closes by code, for the admin dashboard, where the instance counts them. */
  readonly counts: CodeCounts | undefined

  constructor(options: HubOptions) {
    this.directory = options.directory
    this.counts = options.counts
    this.options = {
      config: options.config,
      logs: options.logs ?? memoryLogs(options.config),
      clock: options.clock ?? realClock,
      onError: options.onError,
      statsElsewhere: options.statsElsewhere,
      presenceElsewhere: options.presenceElsewhere,
      fanout: options.fanout,
      hooks: options.hooks,
      ops: options.ops ?? Ops.quiet(),
    }
    // The gauges of rooms are read from here when scraped.
    this.options.ops.metrics.watch(this)
  }

  /** This instance's metrics and log. */
  get ops(): Ops {
    return this.options.ops
  }

  get config(): Config {
    return this.options.config
  }

  /** The room named `name`, created if needed. The name must already be valid; MAX_ROOMS is the caller's to check (`canOpen`). */
  room(name: string): Room {
    let room = this.rooms.get(name)
    if (room === undefined) {
      room = new Room(name, this.options)
      this.rooms.set(name, room)
    }
    return room
  }

  /** Whether `room(name)` stays within MAX_ROOMS: the room is open here already, or there is place for one more. */
  canOpen(name: string): boolean {
    return this.rooms.size < this.options.config.maxRooms || this.rooms.has(name)
  }

  /** The room named `name` if this process has it, without creating it. */
  peek(name: string): Room | undefined {
    return this.rooms.get(name)
  }

  /** The rooms open in this process. */
  openRooms(): IterableIterator<Room> {
    return this.rooms.values()
  }

  /** How many rooms are open in this process. */
  get roomCount(): number {
    return this.rooms.size
  }

  /** `GET /rooms/:room` without creating the room here: random names would otherwise fill memory. */
  stats(name: string): Promise<RoomStats> {
    const room = this.rooms.get(name)
    if (room !== undefined) return room.stats()
    return this.options.statsElsewhere?.(name) ?? Promise.resolve({ room: name, connections: 0, seq: 0 })
  }

  /** `GET /rooms/:room/presence` without creating the room here. */
  async presence(name: string, limit: number, cursor?: string): Promise<RosterPage> {
    const room = this.rooms.get(name)
    if (room !== undefined) return room.presencePage(limit, cursor)
    if (this.options.presenceElsewhere !== undefined) return this.options.presenceElsewhere(name, limit, cursor)
    return { room: name, connections: (await this.stats(name)).connections, members: [] }
  }

  /** Connections on this instance by mode, counted when asked (a scrape), not maintained. */
  membersByMode(): ModeCounts {
    const counts = { raw: 0, json: 0, v2: this.sessions.size }
    for (const room of this.rooms.values()) room.countModes(counts)
    return counts
  }

  /** Bytes of message bodies held in this process's histories. */
  historyBytes(): number {
    let n = 0
    for (const room of this.rooms.values()) n += room.historyBytes() ?? 0
    return n
  }

  /** Members on this instance, across rooms. */
  get connections(): number {
    let n = 0
    for (const room of this.rooms.values()) n += room.size
    // A v2 connection counts once, however many rooms it is a member of.
    for (const s of this.sessions) n += 1 - s.subscriptions
    return n
  }

  /** Ping, close idle members and drop rooms empty for too long. Called by `start()`'s timer. */
  sweep(now: number = this.options.clock.now()): void {
    for (const s of this.sessions) s.sweep(now)
    for (const [name, room] of this.rooms) {
      room.sweep(now)
      if (room.size === 0 && now - room.emptySince >= this.options.config.roomTtlMs) {
        room.dispose()
        this.rooms.delete(name)
      }
    }
  }

  /** Start the periodic sweep (every `pingIntervalMs`). */
  start(): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => this.sweep(), this.options.config.pingIntervalMs)
    // Deno and Node: the sweep must not keep the process alive by itself.
    ;(this.timer as { unref?: () => void }).unref?.()
    this.options.ops.metrics.lag.start()
  }

  /** Stop the sweep and close every member (shutdown). */
  closeAll(code: ErrorCode = 'shutting_down'): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.options.ops.metrics.lag.stop()
    for (const room of this.rooms.values()) room.closeAll(code)
    for (const s of this.sessions) s.close(code)
  }
}
