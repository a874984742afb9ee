/** Member counts across instances, and an instance that dies stops being counted. */
import { expect, it } from 'vitest'
import type { TestClient } from '../support/client.ts'
import { connect, connectJson, sleep } from '../support/client.ts'
import type { ScaleContext } from './suite.ts'

/** Wait for a presence frame announcing `n`, skipping other counts; returns how long it took. */
async function presence(c: TestClient, n: number, timeoutMs = 10_000): Promise<number> {
  const started = Date.now()
  const deadline = started + timeoutMs
  for (;;) {
    const f = await c.frame('presence', Math.max(1, deadline - Date.now()), ['presence', 'message'])
    if (f.connections === n) return Date.now() - started
  }
}

export function crossPresenceScenarios(ctx: ScaleContext): void {
  const at = (server: 'a' | 'b', room: string) => `${ctx[server].ws}/rooms/${room}`
  const stats = async (server: 'a' | 'b', room: string) => (await fetch(`${ctx[server].http}/rooms/${room}`)).json()

  it('counts the members of every instance in presence and GET /rooms/:room', async () => {
    const room = ctx.room()
    const onA = await connectJson(at('a', room))
    await presence(onA.client, 1)
    const onB = await connectJson(at('b', room))
    const rawB = await connect(at('b', room))
    await presence(onA.client, 3)
    await presence(onB.client, 3)
    expect(await stats('a', room)).toEqual({ room, connections: 3, seq: 0 })
    expect(await stats('b', room)).toEqual({ room, connections: 3, seq: 0 })
    await rawB.close()
    await presence(onA.client, 2)
    await onB.client.close()
    await presence(onA.client, 1)
    expect((await stats('b', room)).connections).toBe(1)
    await onA.client.close()
  })

  it('stops counting an instance killed with SIGKILL within the heartbeat bound', async () => {
    const room = ctx.room()
    const c = await ctx.startA(ctx.env)
    try {
      const watcher = await connectJson(at('a', room))
      await Promise.all([connect(`${c.ws}/rooms/${room}`), connect(`${c.ws}/rooms/${room}`)])
      await presence(watcher.client, 3)
      await c.stop('SIGKILL')
      // A count expires 3 heartbeats after it was last written; someone's next heartbeat notices.
      const bound = 4 * Number(ctx.env.PRESENCE_HEARTBEAT_MS) + 1000
      const took = await presence(watcher.client, 1, bound + 5000)
      expect(took).toBeLessThan(bound)
      expect((await stats('b', room)).connections).toBe(1)
      await watcher.client.close()
    } finally {
      await c.stop('SIGKILL')
    }
  }, 60_000)

  it('keeps a room quiet for a while without losing its place (heartbeats refresh, no spurious resync)', async () => {
    const room = ctx.room()
    const onA = await connectJson(at('a', room))
    const onB = await connectJson(at('b', room))
    onA.client.send({ type: 'publish', data: 'before', id: '1' })
    expect(await onA.client.frame('ack')).toMatchObject({ seq: 1 })
    expect(await onB.client.frame('message')).toMatchObject({ seq: 1 })
    await sleep(4 * Number(ctx.env.PRESENCE_HEARTBEAT_MS))
    onB.client.send({ type: 'publish', data: 'after', id: '2' })
    expect(await onA.client.frame('message')).toMatchObject({ seq: 2, data: 'after' })
    await Promise.all([onA.client.close(), onB.client.close()])
  })
}
