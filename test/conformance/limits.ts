/** Instance-wide bounds: rooms per instance (MAX_ROOMS) and HTTP publishes per address (MAX_PUBLISHES_PER_IP). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, refused, sleep, uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import type { SuiteContext } from './suite.ts'

export function limitScenarios(ctx: SuiteContext): void {
  describe('rooms and HTTP publishes per instance', () => {
    let server: ServerHandle
    const post = (room: string, body: string) => fetch(`${server.http}/rooms/${room}/messages`, { method: 'POST', body })
    const seq = async (room: string) => ((await (await fetch(`${server.http}/rooms/${room}`)).json()) as { seq: number }).seq
    /** Wait for a fresh one-second window, so earlier publishes do not count against a scenario. */
    const freshWindow = () => sleep(1100)
    // The only rooms this server ever opens (MAX_ROOMS=3): two with a member, one made by an HTTP publish.
    const [a, b, posted] = [uniqueRoom('open'), uniqueRoom('open'), uniqueRoom('posted')]

    beforeAll(async () => {
      server = await ctx.target.start({ ...ctx.env, MAX_ROOMS: '3', MAX_PUBLISHES_PER_IP: '5' })
    }, 120_000)
    afterAll(async () => {
      await server?.stop()
    }, 30_000)

    it.runIf(ctx.target.caps.instanceRoomLimit ?? true)(
      'refuses a new room past MAX_ROOMS with 503 too_many_rooms for upgrades and HTTP publishes alike, while the open rooms keep working',
      async () => {
        await freshWindow()
        const members = [await connect(`${server.ws}/rooms/${a}`), await connect(`${server.ws}/rooms/${b}`)]
        // An HTTP publish opens a room too, which keeps its history until ROOM_TTL_MS.
        expect((await post(posted, 'first')).status).toBe(202)
        const up = await refused(`${server.ws}/rooms/${uniqueRoom('new')}`)
        expect(up.status).toBe(503)
        expect(up.error).toBe('too_many_rooms')
        expect(Number(up.headers['retry-after'])).toBeGreaterThanOrEqual(1)
        const res = await post(uniqueRoom('new'), 'to a new room')
        expect(res.status).toBe(503)
        expect(res.headers.get('x-roomcast-error')).toBe('too_many_rooms')
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        expect(await res.json()).toMatchObject({ error: 'too_many_rooms', message: expect.stringMatching(/MAX_ROOMS/) })
        // The open rooms take publishes and members as before.
        expect((await post(a, 'to an open room')).status).toBe(202)
        expect(await members[0]?.text()).toBe('to an open room')
        const late = await connect(`${server.ws}/rooms/${posted}`)
        expect((await (await fetch(`${server.http}/rooms/${posted}`)).json()).connections).toBe(1)
        await Promise.all([...members, late].map((m) => m.close()))
      },
      20_000,
    )

    it('answers HTTP publishes past MAX_PUBLISHES_PER_IP per second with 429 rate_limited and Retry-After', async () => {
      await freshWindow()
      const before = await seq(posted)
      await freshWindow()
      // Twelve at once span at most two one-second windows, so at most ten pass the limit of five.
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(posted, `m${i}`)))
      const limited = answers.filter((r) => r.status === 429)
      expect(limited.length).toBeGreaterThanOrEqual(2)
      for (const r of limited) {
        expect(r.headers.get('x-roomcast-error')).toBe('rate_limited')
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        expect(await r.json()).toMatchObject({ error: 'rate_limited', message: expect.stringMatching(/PUBLISH_KEY/) })
      }
      const accepted = answers.filter((r) => r.status === 202)
      expect(accepted.length + limited.length).toBe(12)
      // Only what was accepted was published.
      expect(await seq(posted)).toBe(before + accepted.length)
      await freshWindow()
      expect((await post(posted, 'again')).status).toBe(202)
    }, 20_000)
  })
}
