import { describe, expect, it } from 'vitest'
import { Hub, gracefulShutdown } from '../../src/index.ts'
import { FakeClock, FakeConnection, config } from './fakes.ts'

describe('gracefulShutdown', () => {
  it('stops accepting, closes every member with 1001, waits for the sockets, finishes, exits 0 once', async () => {
    const hub = new Hub({ config: config(), clock: new FakeClock() })
    const conns = [new FakeConnection(), new FakeConnection()]
    for (const c of conns) hub.room('r').join(c, { mode: 'raw' })
    const calls: string[] = []
    let open = 2
    setTimeout(() => (open = 0), 60)
    const shutdown = gracefulShutdown(hub, {
      stopAccepting: () => calls.push('stopAccepting'),
      openSockets: () => open,
      finish: async () => void calls.push(`finish with ${open} open`),
      exit: (code) => void calls.push(`exit ${code}`),
    })
    await Promise.all([shutdown('SIGTERM'), shutdown('SIGINT')])
    expect(conns.map((c) => c.closedWith)).toEqual([
      { code: 1001, reason: expect.stringMatching(/^shutting_down: /) },
      { code: 1001, reason: expect.stringMatching(/^shutting_down: /) },
    ])
    expect(calls).toEqual(['stopAccepting', 'finish with 0 open', 'exit 0'])
  })

  it('exits after the grace period when sockets never close and finish never returns', async () => {
    const hub = new Hub({ config: config(), clock: new FakeClock() })
    let exited: number | undefined
    const started = Date.now()
    const exit = (code: number) => {
      exited = code
    }
    await gracefulShutdown(hub, { openSockets: () => 1, finish: () => new Promise(() => {}), exit }, 100)('SIGTERM')
    expect(exited).toBe(0)
    expect(Date.now() - started).toBeLessThan(2000)
  })
})
