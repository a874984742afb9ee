/** What the fault and failover scenarios watch: publishers that record every answer, members that record every frame, readiness, crashes. */
import { expect } from 'vitest'
import type { TestClient } from '../support/client.ts'
import { sleep } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'

/** Poll `/readyz` until it answers `status` (bounded). */
export async function readiness(server: ServerHandle, status: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const res = await fetch(`${server.http}/readyz`)
    await res.body?.cancel()
    if (res.status === status) return
    if (Date.now() > deadline) throw new Error(`/readyz on ${server.http} still ${res.status}, wanted ${status}`)
    await sleep(50)
  }
}

/**
 * A json publisher that sends one publish every few ms and records how each one was answered first. An
 * `outcome_unknown` publish that Redis ran after all is acked later as well; `ackedAfterError` holds those.
 */
export class Pump {
  /** How each publish was answered first (its seq, or its error code) and when. */
  readonly answers = new Map<string, { seq?: number; error?: string; at: number }>()
  readonly sentAt = new Map<string, number>()
  /** Ids first answered with an error, then acked (they ran after all). */
  readonly ackedAfterError = new Set<string>()
  private n = 0
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(
    readonly client: TestClient,
    readonly tag: string,
  ) {
    client.ws.on('message', (d: Buffer) => {
      const f = JSON.parse(d.toString())
      const first = this.answers.get(f.id)
      if (f.type === 'ack' && first?.error !== undefined) this.ackedAfterError.add(f.id)
      else if (f.type === 'ack') this.answers.set(f.id, { seq: f.seq, at: Date.now() })
      else if (f.type === 'error') this.answers.set(f.id, { error: f.code, at: Date.now() })
    })
  }

  /** Publish one message every `everyMs`, its data its id (`<tag>-<n>`). */
  start(everyMs = 5): void {
    this.timer = setInterval(() => {
      const id = `${this.tag}-${this.n++}`
      this.sentAt.set(id, Date.now())
      this.client.send({ type: 'publish', data: id, id })
    }, everyMs)
  }

  /** Stop sending and wait (bounded) until every publish was answered. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    const deadline = Date.now() + 15_000
    while (this.answers.size < this.sentAt.size && Date.now() < deadline) await sleep(50)
  }

  /** The ids that got an ack. */
  acked(): string[] {
    return [...this.answers].filter(([, a]) => a.seq !== undefined).map(([id]) => id)
  }

  /** Ids answered first with the error `code`. */
  answeredWith(code: string): string[] {
    return [...this.answers].filter(([, a]) => a.error === code).map(([id]) => id)
  }

  /** Ids sent between `from` and `to` (ms timestamps). */
  sentBetween(from: number, to: number): string[] {
    return [...this.sentAt].filter(([, at]) => at >= from && at <= to).map(([id]) => id)
  }

  /** Ids refused while sent between `from` and `to` (ms timestamps). */
  refusedBetween(from: number, to: number): string[] {
    const between = (id: string) => {
      const sent = this.sentAt.get(id)
      return sent !== undefined && sent >= from && sent <= to
    }
    return [...this.answers].filter(([id, a]) => a.error !== undefined && between(id)).map(([id]) => id)
  }
}

/** Every frame of type message a json client has received so far (and keeps receiving), with when it came. */
export function recordMessages(client: TestClient): { seq: number; data: string; at: number }[] {
  const got: { seq: number; data: string; at: number }[] = []
  client.ws.on('message', (d: Buffer) => {
    const f = JSON.parse(d.toString())
    if (f.type === 'message') got.push({ seq: f.seq, data: f.data, at: Date.now() })
  })
  return got
}

/** Everything a raw client receives. */
export function recordRaw(client: TestClient): string[] {
  const got: string[] = []
  client.ws.on('message', (d: Buffer) => got.push(d.toString()))
  return got
}

/** The server is still running and printed no stack trace. */
export const noCrash = (s: ServerHandle) => {
  expect(s.proc.exitCode, s.output()).toBeNull()
  expect(s.output()).not.toMatch(/Unhandled|TypeError|ReferenceError|at .*\.ts:\d+/)
}
