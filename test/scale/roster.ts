/**
 * Protocol v2 presence rosters across instances: each instance's subs under its lease in Redis, folded
 * into one roster per sub on every instance, with the grace period on the total and a dead instance's
 * subs leaving within the heartbeat bound.
 */
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestClient } from '../support/client.ts'
import { connect, sleep } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import type { ScaleContext } from './suite.ts'

const SECRET = 'scale-roster-secret-0123456789-abcdefghijkl'
const GRACE = 1500

function sign(sub: string | undefined, rooms = ['*']): Promise<string> {
  const jwt = new SignJWT({ rooms, pub: true }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
  if (sub !== undefined) jwt.setSubject(sub)
  return jwt.sign(new TextEncoder().encode(SECRET))
}

/** A v2 connection of `sub` subscribed to `room` (with presence, for a watcher). */
async function member(server: ServerHandle, sub: string, room: string, presence = false): Promise<TestClient> {
  const client = await connect(`${server.ws}/?token=${await sign(sub)}`, { protocols: 'roomcast.v2' })
  await client.frame('welcome')
  client.send({ type: 'subscribe', room, id: 's', ...(presence ? { presence: true } : {}) })
  await client.until((f: any) => f.type === 'subscribed' && f.room === room)
  return client
}

/** The roster a watcher has been told so far (its presence frames folded), kept up to date while read. */
class Watcher {
  readonly roster = new Map<string, number>()
  readonly frames: any[] = []
  constructor(
    readonly client: TestClient,
    readonly room: string,
  ) {}

  /** Read presence frames until `done` holds for the roster; returns the frames read meanwhile. */
  async until(done: (r: Map<string, number>, f: any) => boolean, timeoutMs = 10_000): Promise<any[]> {
    const read = await this.client.until((f: any) => {
      if (f.type !== 'presence' || f.room !== this.room) return false
      this.frames.push(f)
      if (f.members !== undefined) {
        this.roster.clear()
        for (const m of f.members) this.roster.set(m.sub, m.connections)
      }
      for (const j of f.joins ?? []) this.roster.set(j.sub, j.connections)
      for (const l of f.leaves ?? []) this.roster.delete(l.sub)
      return done(this.roster, f)
    }, timeoutMs)
    return read.filter((f: any) => f.type === 'presence')
  }

  sorted(): [string, number][] {
    return [...this.roster.entries()].sort()
  }
}

async function watch(server: ServerHandle, room: string): Promise<Watcher> {
  return new Watcher(await member(server, `watcher-${server.http.slice(-5)}`, room, true), room)
}

export function crossRosterScenarios(ctx: ScaleContext): void {
  describe('v2 presence rosters across instances', () => {
    let a: ServerHandle
    let b: ServerHandle
    let env: Record<string, string>
    beforeAll(async () => {
      env = { ...ctx.env, AUTH_SECRET: SECRET, PRESENCE_GRACE_MS: String(GRACE) }
      ;[a, b] = await Promise.all([ctx.startA(env), ctx.startB(env)])
    }, 120_000)
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()])
    }, 30_000)

    it('lists every instance’s subs, counts a sub with tabs on both once with connections: 2, and pages them over GET on either', async () => {
      const room = ctx.room()
      const wa = await watch(a, room)
      const wb = await watch(b, room)
      const tabs = [await member(a, 'ann', room), await member(b, 'ann', room)]
      const bob = await member(b, 'bob', room)
      const want = (r: Map<string, number>) => r.get('ann') === 2 && r.get('bob') === 1 && r.size === 4
      await Promise.all([wa.until(want), wb.until(want)])
      // Both instances' watchers have the same roster, each watcher counted once.
      expect(wa.sorted()).toEqual(wb.sorted())
      const watchers: [string, number][] = [
        [`watcher-${a.http.slice(-5)}`, 1],
        [`watcher-${b.http.slice(-5)}`, 1],
      ]
      expect(wa.sorted()).toEqual([['ann', 2], ['bob', 1], ...watchers.sort()])
      const auth = { authorization: `Bearer ${await sign(undefined, [room])}` }
      const get = async () => (await fetch(`${a.http}/rooms/${room}/presence?limit=2`, { headers: auth })).json() as Promise<any>
      // The count comes in "p" announcements, the subs in "r" ones: the page is as of the tick that has both.
      let page = await get()
      for (let i = 0; i < 250 && page.connections !== 5; i++) {
        await sleep(20)
        page = await get()
      }
      expect(page).toMatchObject({
        room,
        connections: 5,
        members: [
          { sub: 'ann', connections: 2 },
          { sub: 'bob', connections: 1 },
        ],
        cursor: 'bob',
      })
      // Both tabs gone (one on each instance): ann stays listed through the grace period, then leaves everywhere.
      const gone = Date.now()
      await Promise.all(tabs.map((t) => t.close()))
      await Promise.all([wa.until((r) => !r.has('ann')), wb.until((r) => !r.has('ann'))])
      expect(Date.now() - gone).toBeGreaterThanOrEqual(GRACE - 100)
      expect(wa.frames.at(-1)).toMatchObject({ connections: 3, leaves: [{ sub: 'ann' }] })
      expect(wa.sorted()).toEqual(wb.sorted())
      await Promise.all([wa.client.close(), wb.client.close(), bob.close()])
    })

    it('pages the roster over GET on an instance that does not have the room open, from Redis', async () => {
      const room = ctx.room()
      const held = [await member(b, 'gil', room), await member(b, 'gil', room), await member(b, 'hal', room)]
      const auth = { authorization: `Bearer ${await sign(undefined, [room])}` }
      const get = async (q: string) => (await fetch(`${a.http}/rooms/${room}/presence${q}`, { headers: auth })).json() as Promise<any>
      let page = await get('?limit=1')
      // B writes its part at its next presence tick.
      for (let i = 0; i < 250 && page.cursor === undefined; i++) {
        await sleep(20)
        page = await get('?limit=1')
      }
      expect(page).toEqual({ room, connections: 3, members: [{ sub: 'gil', connections: 2 }], cursor: 'gil' })
      expect(await get(`?limit=5&cursor=${page.cursor}`)).toEqual({ room, connections: 3, members: [{ sub: 'hal', connections: 1 }] })
      await Promise.all(held.map((c) => c.close()))
    })

    it('does not flap when a sub moves from one instance to the other within the grace period', async () => {
      const room = ctx.room()
      const wa = await watch(a, room)
      const onA = await member(a, 'cat', room)
      await wa.until((r) => r.get('cat') === 1)
      await onA.close()
      await sleep(GRACE / 3)
      const onB = await member(b, 'cat', room)
      // Past the grace period of the first tab, a sentinel sub joins: no leave of cat came before it.
      await sleep(GRACE)
      const dot = await member(b, 'dot', room)
      const read = await wa.until((r) => r.has('dot'))
      expect(read.flatMap((f) => f.leaves ?? [])).toEqual([])
      expect(wa.roster.get('cat')).toBe(1)
      await Promise.all([wa.client.close(), onB.close(), dot.close()])
    })

    it('drops the subs of an instance killed with SIGKILL within the heartbeat bound plus the grace period', async () => {
      const room = ctx.room()
      const c = await ctx.startB(env)
      try {
        const wa = await watch(a, room)
        const held = [await member(c, 'eve', room), await member(c, 'fay', room), await member(a, 'fay', room)]
        await wa.until((r) => r.get('eve') === 1 && r.get('fay') === 2)
        const killed = Date.now()
        await c.stop('SIGKILL')
        // Its lease expires 3 heartbeats after it was last written; the next heartbeat here notices; then the grace.
        const bound = 4 * Number(env.PRESENCE_HEARTBEAT_MS) + GRACE + 1000
        await wa.until((r) => !r.has('eve') && r.get('fay') === 1, bound + 5000)
        expect(Date.now() - killed).toBeLessThan(bound)
        expect(wa.sorted()).toEqual([
          ['fay', 1],
          [`watcher-${a.http.slice(-5)}`, 1],
        ])
        await Promise.all([wa.client.close(), held[2]?.close()])
      } finally {
        await c.stop('SIGKILL')
      }
    }, 60_000)
  })
}
