/** The rooms of one process (Node, Deno, Bun). On Cloudflare each room is its own Durable Object instead. */
import type { Clock } from '../config/clock.ts'
import { realClock } from '../config/clock.ts'
import type { Config } from '../config/config.ts'
import type { Hooks } from '../hooks/hooks.ts'
import { memoryLogs } from '../log/memory-log.ts'
import type { LogFactory } from '../log/room-log.ts'
import type { RoomStats } from '../room/room.ts'
import { Room } from '../room/room.ts'
import type { Fanout } from '../room/topics.ts'
import type { ErrorCode } from '../wire/errors.ts'

export interface HubOptions {
  config: Config
  /** Where seq, history and cross-instance delivery come from; memory by default. */
  logs?: LogFactory
  clock?: Clock
  onError?: (err: unknown) => void
  /** Stats of a room this process does not have open, from a backend that spans instances; default: empty. */
  statsElsewhere?: (room: string) => Promise<RoomStats>
  /** The runtime's native one-to-many send, where it has one (Bun). */
  fanout?: Fanout
  /** The application's hooks, handed to every room. */
  hooks?: Hooks
}

/** The rooms of one process, created on first use and dropped when empty for `roomTtlMs`. */
export class Hub {
  private readonly rooms = new Map<string, Room>()
  private readonly options: Required<Omit<HubOptions, 'onError' | 'statsElsewhere' | 'fanout' | 'hooks'>> &
    Pick<HubOptions, 'onError' | 'statsElsewhere' | 'fanout' | 'hooks'>
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(options: HubOptions) {
    this.options = {
      config: options.config,
      logs: options.logs ?? memoryLogs(options.config),
      clock: options.clock ?? realClock,
      onError: options.onError,
      statsElsewhere: options.statsElsewhere,
      fanout: options.fanout,
      hooks: options.hooks,
    }
  }

  get config(): Config {
    return this.options.config
  }

  /** The room named `name`, created if needed. The name must already be valid. */
  room(name: string): Room {
    let room = this.rooms.get(name)
    if (room === undefined) {
      room = new Room(name, this.options)
      this.rooms.set(name, room)
    }
    return room
  }

  /** The room named `name` if this process has it, without creating it. */
  peek(name: string): Room | undefined {
    return this.rooms.get(name)
  }

  /** `GET /rooms/:room` without creating the room here: random names would otherwise fill memory. */
  stats(name: string): Promise<RoomStats> {
    const room = this.rooms.get(name)
    if (room !== undefined) return room.stats()
    return this.options.statsElsewhere?.(name) ?? Promise.resolve({ room: name, connections: 0, seq: 0 })
  }

  /** Members on this instance, across rooms. */
  get connections(): number {
    let n = 0
    for (const room of this.rooms.values()) n += room.size
    return n
  }

  /** Ping, close idle members and drop rooms empty for too long. Called by `start()`'s timer. */
  sweep(now: number = this.options.clock.now()): void {
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
  }

  /** Stop the sweep and close every member (shutdown). */
  closeAll(code: ErrorCode = 'shutting_down'): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    for (const room of this.rooms.values()) room.closeAll(code)
  }
}
