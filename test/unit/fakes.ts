/** In-memory fake connections and a fake clock for unit tests of the core. */
import type { Clock, Config, Connection } from '../../src/index.ts'
import { defaults } from '../../src/index.ts'

/** A connection that records what it was sent and how it was closed. */
export class FakeConnection implements Connection {
  sent: (string | Uint8Array)[] = []
  closedWith: { code: number; reason: string } | null = null
  buffered = 0
  pings = 0
  throwOnSend = false

  send(data: string | Uint8Array): void {
    if (this.throwOnSend) throw new Error('socket gone')
    this.sent.push(data)
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason }
  }
  bufferedAmount(): number {
    return this.buffered
  }
  ping(): void {
    this.pings++
  }
  /** Whether terminate() was called, and whether the close frame had gone out before it. */
  terminated: { afterClose: boolean } | null = null
  terminate(): void {
    this.terminated = { afterClose: this.closedWith !== null }
  }
  /** Sent text frames parsed as JSON. */
  frames(): any[] {
    return this.sent.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d))
  }
  /** Parsed frames of one type. */
  ofType(type: string): any[] {
    return this.frames().filter((f) => f.type === type)
  }
}

/** A clock that moves only when told to; timers fire in `advance`. */
export class FakeClock implements Clock {
  private t = 1_000_000
  private timers: { at: number; fn: () => void; id: number }[] = []
  private nextId = 1

  now(): number {
    return this.t
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++
    this.timers.push({ at: this.t + ms, fn, id })
    return id
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle)
  }
  /** Move time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at)
      const due = this.timers[0]
      if (!due || due.at > end) break
      this.timers.shift()
      this.t = due.at
      due.fn()
    }
    this.t = end
  }
}

/** Defaults with overrides. */
export function config(overrides: Partial<Config> = {}): Config {
  return { ...defaults, ...overrides }
}

/** Let pending promise callbacks (welcome, acks) run. */
export const flush = () => new Promise((r) => setTimeout(r, 0))
