/**
 * Redis goes away mid-stream and comes back: publishes in between are refused
 * explicitly, the instances recover by themselves, and every member's stream
 * is gap-free or the member is told (close 1012, then complete:false on resume).
 * Each scenario runs its own redis-server on its own port and stops it by PID.
 */
import { describe, expect, it } from 'vitest'
import { connect, connectJson, sleep, uniqueRoom } from '../support/client.ts'
import { at } from '../support/present.ts'
import { OwnRedis, uniquePrefix } from '../support/redis.ts'
import { Pump, noCrash, readiness, recordMessages, recordRaw } from './recorders.ts'
import type { Start } from './suite.ts'
import { SCALE_ENV } from './suite.ts'

/** Register the outage scenarios for instances started by `startA` and `startB`. */
export function faultScenarios(name: string, startA: Start, startB: Start): void {
  describe(`Redis outage: ${name}`, () => {
    it('refuses publishes while Redis is down, recovers by itself, and every member sees every acked message in one gap-free order', async () => {
      const redis = await OwnRedis.start(true)
      const env = { ...SCALE_ENV, REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('fault') }
      const servers = await Promise.all([startA(env), startB(env)])
      const [a, b] = servers
      try {
        const room = uniqueRoom()
        const listeners = [await connectJson(`${a.ws}/rooms/${room}`), await connectJson(`${b.ws}/rooms/${room}`)]
        const streams = listeners.map((l) => recordMessages(l.client))
        const raws = [await connect(`${a.ws}/rooms/${room}`), await connect(`${b.ws}/rooms/${room}`)]
        const rawStreams = raws.map(recordRaw)
        const pumps = [new Pump((await connectJson(`${a.ws}/rooms/${room}`)).client, 'A'), new Pump((await connectJson(`${b.ws}/rooms/${room}`)).client, 'B')]
        for (const p of pumps) p.start()
        await sleep(500)

        await redis.stop('SIGKILL')
        const downAt = Date.now()
        await Promise.all(servers.map((s) => readiness(s, 503)))
        // Degraded, not dead: liveness still answers and says why.
        const health = await (await fetch(`${a.http}/healthz`)).json()
        expect(health).toMatchObject({ ok: true, status: 'degraded', backend: 'redis' })
        expect(health.detail).toMatch(/redis unreachable/)
        // HTTP publishes and new members are refused with 503, not half-served.
        const post = await fetch(`${b.http}/rooms/${room}/messages`, { method: 'POST', body: 'during outage' })
        expect(post.status).toBe(503)
        expect(await post.json()).toMatchObject({ error: 'unavailable' })
        const { refusedStatus } = await import('../support/client.ts')
        expect(await refusedStatus(`${a.ws}/rooms/${room}`)).toBe(503)
        const stats = await fetch(`${a.http}/rooms/${room}`)
        expect(stats.status).toBe(503)
        expect(await stats.json()).toMatchObject({ error: 'unavailable' })
        await sleep(700)
        const restartAt = Date.now()
        await redis.restart()
        await Promise.all(servers.map((s) => readiness(s, 200)))
        await sleep(500)
        for (const p of pumps) await p.stop()
        await sleep(500)

        // Existing connections stayed open through it all.
        for (const c of [...listeners.map((l) => l.client), ...raws, ...pumps.map((p) => p.client)]) expect(c.ws.readyState).toBe(c.ws.OPEN)
        // Publishes sent while Redis was gone were refused explicitly: unavailable (never sent, so they reached no
        // one), or outcome_unknown for the few in flight when it died (reached everyone or no one: checked below).
        const refused = pumps.flatMap((p) => p.refusedBetween(downAt, restartAt))
        expect(refused.length).toBeGreaterThan(50)
        for (const p of pumps) for (const [, ans] of p.answers) if (ans.error !== undefined) expect(['unavailable', 'outcome_unknown']).toContain(ans.error)
        const unavailable = pumps.flatMap((p) => p.answeredWith('unavailable'))
        const unknown = pumps.flatMap((p) => p.answeredWith('outcome_unknown'))
        // Every publish got an answer, and publishing works again after the outage.
        for (const p of pumps) expect(p.answers.size).toBe(p.sentAt.size)
        const acked = pumps.flatMap((p) => p.acked())
        for (const p of pumps) expect(p.acked().some((id) => (p.sentAt.get(id) ?? 0) > restartAt)).toBe(true)
        // One gap-free order, identical everywhere, holding every acked message and nothing refused during the outage.
        const order = at(streams, 0).map((m) => m.data)
        for (const s of streams) {
          expect(s.map((m) => m.seq)).toEqual(Array.from({ length: s.length }, (_, i) => i + 1))
          expect(s.map((m) => m.data)).toEqual(order)
        }
        for (const r of rawStreams) expect(r).toEqual(order)
        const delivered = new Set(order)
        for (const id of acked) expect(delivered.has(id), id).toBe(true)
        for (const id of unavailable) expect(delivered.has(id), id).toBe(false)
        // The streams are identical, so an outcome_unknown publish reached every member or none; if it did, its publisher heard so.
        for (const id of unknown) expect(delivered.has(id), id).toBe(pumps.some((p) => p.ackedAfterError.has(id)))
        servers.forEach(noCrash)
        await Promise.all([...listeners.map((l) => l.client.close()), ...raws.map((r) => r.close()), ...pumps.map((p) => p.client.close())])
      } finally {
        await Promise.all(servers.map((s) => s.stop()))
        await redis.dispose()
      }
    }, 120_000)

    it('when Redis stops answering (SIGSTOP), is not ready within 2 s, answers every publish unavailable (reached no one) or outcome_unknown (reached every member or none), and recovers', async () => {
      const redis = await OwnRedis.start(false)
      const env = { ...SCALE_ENV, REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('stall') }
      const servers = await Promise.all([startA(env), startB(env)])
      const [a, b] = servers
      try {
        const room = uniqueRoom()
        const listeners = [await connectJson(`${a.ws}/rooms/${room}`), await connectJson(`${b.ws}/rooms/${room}`)]
        const streams = listeners.map((l) => recordMessages(l.client))
        const pumps = [new Pump((await connectJson(`${a.ws}/rooms/${room}`)).client, 'A'), new Pump((await connectJson(`${b.ws}/rooms/${room}`)).client, 'B')]
        for (const p of pumps) p.start(10)
        await sleep(500)

        redis.pause()
        const stoppedAt = Date.now()
        // The latency probe, not the 5 s command timeout: 503 within 2 s on both instances.
        const notReady = await Promise.all(servers.map((s) => readiness(s, 503, 5_000).then(() => Date.now() - stoppedAt)))
        for (const ms of notReady) expect(ms).toBeLessThanOrEqual(2_000)
        const ready = await (await fetch(`${a.http}/readyz`)).json()
        expect(ready).toMatchObject({ error: 'unavailable', message: expect.stringMatching(/not answering/) })
        // HTTP publishes are refused at once while it does not answer, never sent.
        const post = await fetch(`${b.http}/rooms/${room}/messages`, { method: 'POST', body: 'during the stall' })
        expect(post.status).toBe(503)
        expect(await post.json()).toMatchObject({ error: 'unavailable' })
        // Longer than the command timeout, so publishes sent before the probe noticed time out (outcome_unknown).
        await sleep(7_000)
        const resumedAt = Date.now()
        redis.resume()
        await Promise.all(servers.map((s) => readiness(s, 200)))
        await sleep(500)
        for (const p of pumps) await p.stop()
        await sleep(1000)

        for (const c of [...listeners.map((l) => l.client), ...pumps.map((p) => p.client)]) expect(c.ws.readyState).toBe(c.ws.OPEN)
        for (const p of pumps) expect(p.answers.size).toBe(p.sentAt.size)
        // Every publish sent during the stall got one of the two refusals.
        for (const p of pumps) {
          const during = p.sentBetween(stoppedAt, resumedAt)
          expect(during.length).toBeGreaterThan(50)
          for (const id of during) expect(['unavailable', 'outcome_unknown'], id).toContain(p.answers.get(id)?.error)
        }
        const unavailable = pumps.flatMap((p) => p.answeredWith('unavailable'))
        const unknown = pumps.flatMap((p) => p.answeredWith('outcome_unknown'))
        expect(unavailable.length).toBeGreaterThan(50)
        // One gap-free order, the same on both instances.
        const order = at(streams, 0).map((m) => m.data)
        for (const s of streams) {
          expect(s.map((m) => m.seq)).toEqual(Array.from({ length: s.length }, (_, i) => i + 1))
          expect(s.map((m) => m.data)).toEqual(order)
        }
        const reached = streams.map((s) => new Set(s.map((m) => m.data)))
        for (const id of unavailable) for (const r of reached) expect(r.has(id), id).toBe(false)
        for (const id of unknown) {
          const everywhere = reached.every((r) => r.has(id))
          expect(everywhere || reached.every((r) => !r.has(id)), id).toBe(true)
          // One that went through after all is acked too, after its error.
          expect(
            pumps.some((p) => p.ackedAfterError.has(id)),
            id,
          ).toBe(everywhere)
        }
        for (const p of pumps) for (const id of p.acked()) for (const r of reached) expect(r.has(id), id).toBe(true)
        servers.forEach(noCrash)
        await Promise.all([...listeners.map((l) => l.client.close()), ...pumps.map((p) => p.client.close())])
      } finally {
        redis.resume()
        await Promise.all(servers.map((s) => s.stop()))
        await redis.dispose()
      }
    }, 120_000)

    it('starts degraded when Redis is not there yet, and becomes ready by itself when it appears', async () => {
      const redis = await OwnRedis.start(false)
      await redis.stop('SIGKILL')
      const env = { ...SCALE_ENV, REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('late') }
      const server = await startA(env)
      try {
        await readiness(server, 503)
        expect(await (await fetch(`${server.http}/healthz`)).json()).toMatchObject({ ok: true, status: 'degraded' })
        expect(server.output()).toMatch(/serving degraded/)
        await redis.restart()
        await readiness(server, 200)
        const room = uniqueRoom()
        const { client } = await connectJson(`${server.ws}/rooms/${room}`)
        const res = await fetch(`${server.http}/rooms/${room}/messages`, { method: 'POST', body: 'hello' })
        expect(await res.json()).toEqual({ seq: 1 })
        expect(await client.frame('message')).toMatchObject({ seq: 1, data: 'hello' })
        await client.close()
        noCrash(server)
      } finally {
        await server.stop()
        await redis.dispose()
      }
    }, 60_000)

    it('when Redis comes back without its data, closes members with 1012 and their resume says complete:false', async () => {
      const redis = await OwnRedis.start(false)
      const env = { ...SCALE_ENV, REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('lost') }
      const servers = await Promise.all([startA(env), startB(env)])
      const [a, b] = servers
      try {
        const room = uniqueRoom()
        const members = [await connectJson(`${a.ws}/rooms/${room}`), await connectJson(`${b.ws}/rooms/${room}`)]
        const streams = members.map((m) => recordMessages(m.client))
        const pump = new Pump((await connectJson(`${a.ws}/rooms/${room}`)).client, 'A')
        pump.start(10)
        await sleep(400)
        await redis.stop('SIGKILL')
        await Promise.all(servers.map((s) => readiness(s, 503)))
        await redis.restart()
        await Promise.all(servers.map((s) => readiness(s, 200)))
        // The instances notice that the room's history is gone and say so by closing its members.
        for (const m of members) {
          const closed = await Promise.race([m.client.closed, sleep(15_000).then(() => null)])
          expect(closed).toMatchObject({ code: 1012 })
          expect(closed?.reason).toMatch(/^resync: /)
        }
        expect((await pump.client.closed).code).toBe(1012)
        // Up to the close, each stream was gap-free; a resume from where it stopped says it missed something.
        for (const [i, s] of streams.entries()) {
          expect(s.map((m) => m.seq)).toEqual(Array.from({ length: s.length }, (_, k) => k + 1))
          const server = i === 0 ? a : b
          const again = await connectJson(`${server.ws}/rooms/${room}?since=${s.at(-1)?.seq ?? 0}&epoch=${at(members, i).welcome.epoch}`)
          expect(again.welcome.resumed).toEqual({ since: s.at(-1)?.seq ?? 0, complete: false })
          expect(again.welcome.epoch).not.toBe(at(members, i).welcome.epoch)
          await again.client.close()
        }
        servers.forEach(noCrash)
      } finally {
        await Promise.all(servers.map((s) => s.stop()))
        await redis.dispose()
      }
    }, 120_000)
  })
}
