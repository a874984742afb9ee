/**
 * One Redis: one connection for commands, one for pub/sub. Both must be up
 * and answering for any room to be (publishes are refused, fast, while they
 * are not: a PING on each every `everyMs` must come back within `timeoutMs`);
 * when they return, every room's channel is subscribed again and reported.
 */

import type { RedisOptions } from 'ioredis'
import { Redis } from 'ioredis'
import type { DirectoryScript } from './directory-scripts.ts'
import { defineDirectoryScripts } from './directory-scripts.ts'
import { defineRoomScripts } from './scripts.ts'
import type { Reply, Transport, TransportEvents } from './transport.ts'
import type { RoomKeys } from './wire.ts'

type Scripted = Redis & {
  rcAppend(meta: string, log: string, ...args: (string | number)[]): Promise<number>
  rcAppendOnce(meta: string, log: string, ids: string, idx: string, ...args: (string | number)[]): Promise<Reply>
  rcRange(meta: string, log: string, ...args: (string | number)[]): Promise<Reply>
  rcBeat(meta: string, log: string, presence: string, rv: string, mine: string, ...args: (string | number)[]): Promise<Reply>
  /** Scripts with a variable number of keys: that number comes first. */
  rcRosterWrite(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>
  rcLive(presence: string): Promise<string[]>
  rcRosterRead(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown[]>
  rcPeek(meta: string, presence: string): Promise<number[]>
  rcRebase(meta: string, epoch: string): Promise<string>
}

/** How long a command may take: ioredis's own timeout once it is written, and a publish's deadline from when it was asked. */
export const COMMAND_TIMEOUT_MS = 5000

/** The latency probe's settings: a PING every `everyMs`, overdue after `timeoutMs`. */
export interface ProbeSettings {
  everyMs: number
  timeoutMs: number
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
  // A Redis that stops answering without closing the socket still fails commands in bounded time (a publish
  // then gets outcome_unknown: Redis may run it when it answers again). The latency probe notices sooner.
  commandTimeout: COMMAND_TIMEOUT_MS,
  keepAlive: 10_000,
}

/** One Redis server at `url`. */
export class SingleRedis implements Transport {
  readonly name = 'redis'
  /** One Redis has no replica to confirm an append. */
  readonly confirmsAppends = false
  /** Both connections are ready. */
  private up = false
  private readonly cmd: Scripted
  private readonly sub: Redis
  private readonly channels = new Set<string>()
  private downSince = Date.now()
  private lastError = 'connecting'
  private closing = false
  private readonly probeTimer: ReturnType<typeof setInterval>
  /** Connections with a probe PING in flight. */
  private readonly probing = new Set<Redis>()
  /** Connections whose probe PING is overdue: Redis is not answering on them. */
  private readonly slow = new Set<Redis>()

  constructor(
    url: string,
    private readonly events: TransportEvents,
    private readonly say: (message: string, level?: 'info' | 'warn') => void,
    probe: ProbeSettings,
  ) {
    this.cmd = new Redis(url, { ...FAIL_FAST, enableAutoPipelining: true }) as Scripted
    this.sub = new Redis(url, FAIL_FAST)
    defineRoomScripts(this.cmd, 'PUBLISH')
    defineDirectoryScripts(this.cmd)
    for (const conn of [this.cmd, this.sub]) {
      conn.on('ready', () => {
        // Redis answered the connection's ready check: it is answering again.
        this.slow.delete(conn)
        this.check()
      })
      conn.on('close', () => this.check())
      conn.on('error', (err: Error) => {
        this.lastError = err.message
      })
    }
    this.sub.on('message', (channel: string, text: string) => {
      if (this.channels.has(channel)) events.message(channel, text)
    })
    this.probeTimer = setInterval(() => this.probe(probe.timeoutMs), probe.everyMs)
    ;(this.probeTimer as { unref?: () => void }).unref?.()
  }

  isUp(): boolean {
    return this.up
  }

  state(): { ready: boolean; detail?: string } {
    if (this.up) return { ready: true }
    const why = this.slow.size > 0 && this.cmd.status === 'ready' && this.sub.status === 'ready' ? 'not answering' : this.lastError
    return { ready: false, detail: `redis unreachable since ${new Date(this.downSince).toISOString()}: ${why}` }
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

  appendOnce(k: RoomKeys, args: (string | number)[]): Promise<Reply> {
    return this.cmd.rcAppendOnce(k.meta, k.log, k.ids, k.idx, ...args)
  }

  range(k: RoomKeys, args: (string | number)[]): Promise<Reply> {
    return this.cmd.rcRange(k.meta, k.log, ...args)
  }

  beat(k: RoomKeys, mine: string, args: (string | number)[]): Promise<Reply> {
    return this.cmd.rcBeat(k.meta, k.log, k.presence, k.rv, mine, ...args)
  }

  rosterWrite(k: RoomKeys, mine: string, args: (string | number)[]): Promise<number> {
    return this.cmd.rcRosterWrite(2, k.rv, mine, ...args)
  }

  rosterRead(k: RoomKeys, rosters: string[], ids: string[]): Promise<unknown[]> {
    return this.cmd.rcRosterRead(1 + rosters.length, k.rv, ...rosters, ...ids)
  }

  live(k: RoomKeys): Promise<string[]> {
    return this.cmd.rcLive(k.presence)
  }

  peek(k: RoomKeys): Promise<number[]> {
    return this.cmd.rcPeek(k.meta, k.presence)
  }

  rebase(k: RoomKeys, epoch: string): Promise<string> {
    return this.cmd.rcRebase(k.meta, epoch)
  }

  directory(script: DirectoryScript, keys: [string, string], args: (string | number)[]): Promise<Reply> {
    return (this.cmd as unknown as Record<DirectoryScript, (...a: (string | number)[]) => Promise<Reply>>)[script](...keys, ...args)
  }

  publish(channel: string, message: string): Promise<number> {
    return this.cmd.publish(channel, message)
  }

  close(): void {
    this.closing = true
    clearInterval(this.probeTimer)
    this.cmd.disconnect()
    this.sub.disconnect()
  }

  /** Follow the connections' state: going down reports every channel down, coming back resubscribes them. */
  private check(): void {
    const up = !this.closing && this.cmd.status === 'ready' && this.sub.status === 'ready' && this.slow.size === 0
    if (up === this.up) return
    this.up = up
    if (!up) {
      this.downSince = Date.now()
      if (this.closing) return
      this.say(`redis ${this.slow.size > 0 ? 'not answering' : 'unreachable'}; publishes and new members are refused until it returns`, 'warn')
      for (const channel of this.channels) this.events.down(channel)
      return
    }
    this.lastError = 'connection lost'
    this.say(`redis connected; ${this.channels.size} room(s) resubscribing`)
    this.subscribe([...this.channels])
  }

  /**
   * The latency probe: PING each ready connection (one PING in flight each). One unanswered after
   * `timeoutMs` marks Redis as not answering (not ready; publishes refused, never sent) until a PING
   * or a reconnect is answered. One that fails (the command timeout) means the connection silently
   * stopped (a partition), which only asking notices: reconnect it.
   */
  private probe(timeoutMs: number): void {
    if (this.closing) return
    for (const conn of [this.cmd, this.sub]) {
      if (conn.status !== 'ready' || this.probing.has(conn)) continue
      this.probing.add(conn)
      let answered = false
      // Checked once pending I/O has been read (setImmediate runs after the poll phase): a busy event loop
      // that fires this timer late has then read a reply that came in time, and Redis is not called slow.
      const deadline = setTimeout(() => setImmediate(() => answered || this.markSlow(conn)), timeoutMs)
      conn.ping().then(
        () => {
          answered = true
          clearTimeout(deadline)
          this.probing.delete(conn)
          if (this.slow.delete(conn)) this.check()
        },
        () => {
          answered = true
          clearTimeout(deadline)
          this.probing.delete(conn)
          if (!this.closing && conn.status === 'ready') conn.disconnect(true)
        },
      )
    }
  }

  private markSlow(conn: Redis): void {
    if (this.closing || !this.probing.has(conn) || this.slow.has(conn)) return
    this.slow.add(conn)
    this.check()
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
