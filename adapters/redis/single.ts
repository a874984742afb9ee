/**
 * One Redis: one connection for commands, one for pub/sub. Both must be up
 * for any room to be (publishes are refused, fast, while they are not); when
 * they return, every room's channel is subscribed again and reported.
 */

import type { RedisOptions } from 'ioredis'
import { Redis } from 'ioredis'
import { APPEND, BEAT, PEEK, RANGE } from './scripts.ts'
import type { Reply, Transport, TransportEvents } from './transport.ts'
import type { RoomKeys } from './wire.ts'

type Scripted = Redis & {
  rcAppend(meta: string, log: string, ...args: (string | number)[]): Promise<number>
  rcRange(meta: string, log: string, ...args: (string | number)[]): Promise<Reply>
  rcBeat(meta: string, log: string, presence: string, ...args: (string | number)[]): Promise<Reply>
  rcPeek(meta: string, presence: string): Promise<number[]>
}

/** Connection settings that make failures fast and explicit instead of queued. */
export const FAIL_FAST: RedisOptions = {
  // A command while disconnected fails at once: no offline queue to pile publishes into.
  enableOfflineQueue: false,
  // A command in flight when the connection drops fails at the first reconnect attempt, and is never resent
  // (resending an append whose reply was lost could publish it twice).
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  // We resubscribe ourselves, then re-sync each room from history.
  autoResubscribe: false,
  retryStrategy: (times) => Math.min(50 * times, 1000),
  connectTimeout: 2000,
  // A Redis that stops answering without closing the socket still fails commands in bounded time.
  commandTimeout: 5000,
  keepAlive: 10_000,
}

/** One Redis server at `url`. */
export class SingleRedis implements Transport {
  readonly name = 'redis'
  /** Both connections are ready. */
  private up = false
  private readonly cmd: Scripted
  private readonly sub: Redis
  private readonly channels = new Set<string>()
  private downSince = Date.now()
  private lastError = 'connecting'
  private closing = false

  constructor(
    url: string,
    private readonly events: TransportEvents,
    private readonly say: (message: string) => void,
  ) {
    this.cmd = new Redis(url, { ...FAIL_FAST, enableAutoPipelining: true }) as Scripted
    this.sub = new Redis(url, FAIL_FAST)
    this.cmd.defineCommand('rcAppend', { numberOfKeys: 2, lua: APPEND })
    this.cmd.defineCommand('rcRange', { numberOfKeys: 2, lua: RANGE })
    this.cmd.defineCommand('rcBeat', { numberOfKeys: 3, lua: BEAT })
    this.cmd.defineCommand('rcPeek', { numberOfKeys: 2, lua: PEEK })
    for (const conn of [this.cmd, this.sub]) {
      conn.on('ready', () => this.check())
      conn.on('close', () => this.check())
      conn.on('error', (err: Error) => {
        this.lastError = err.message
      })
    }
    this.sub.on('message', (channel: string, text: string) => {
      if (this.channels.has(channel)) events.message(channel, text)
    })
  }

  isUp(): boolean {
    return this.up
  }

  state(): { ready: boolean; detail?: string } {
    if (this.up) return { ready: true }
    return { ready: false, detail: `redis unreachable since ${new Date(this.downSince).toISOString()}: ${this.lastError}` }
  }

  listen(channel: string): void {
    this.channels.add(channel)
    if (this.up) this.subscribe([channel])
  }

  unlisten(channel: string): void {
    this.channels.delete(channel)
    if (this.up) this.sub.unsubscribe(channel).catch(() => {})
  }

  append(k: RoomKeys, args: (string | number)[]): Promise<number> {
    return this.cmd.rcAppend(k.meta, k.log, ...args)
  }

  range(k: RoomKeys, args: (string | number)[]): Promise<Reply> {
    return this.cmd.rcRange(k.meta, k.log, ...args)
  }

  beat(k: RoomKeys, args: (string | number)[]): Promise<Reply> {
    return this.cmd.rcBeat(k.meta, k.log, k.presence, ...args)
  }

  peek(k: RoomKeys): Promise<number[]> {
    return this.cmd.rcPeek(k.meta, k.presence)
  }

  probe(): void {
    if (!this.up) return
    for (const conn of [this.cmd, this.sub]) conn.ping().catch(() => this.up && conn.disconnect(true))
  }

  close(): void {
    this.closing = true
    this.cmd.disconnect()
    this.sub.disconnect()
  }

  /** Follow the connections' state: going down reports every channel down, coming back resubscribes them. */
  private check(): void {
    const up = !this.closing && this.cmd.status === 'ready' && this.sub.status === 'ready'
    if (up === this.up) return
    this.up = up
    if (!up) {
      this.downSince = Date.now()
      if (this.closing) return
      this.say('redis unreachable; publishes and new members are refused until it returns')
      for (const channel of this.channels) this.events.down(channel)
      return
    }
    this.lastError = 'connection lost'
    this.say(`redis connected; ${this.channels.size} room(s) resubscribing`)
    this.subscribe([...this.channels])
  }

  /** Subscribe, then report each channel subscribed (so its room syncs and nothing published after the read is missed). */
  private subscribe(channels: string[]): void {
    if (channels.length === 0) return
    this.sub.subscribe(...channels).then(
      () => {
        for (const channel of channels) if (this.channels.has(channel)) this.events.subscribed(channel)
      },
      // The connection dropped again; its return resubscribes everything.
      () => {},
    )
  }
}
