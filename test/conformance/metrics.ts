/**
 * `GET /metrics` against a live server: counters move by exactly what the scenario did, the exposition
 * follows the format's rules, METRICS_TOKEN guards it, and METRICS_PORT moves it to a listener of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, connectJson, refused, uniqueRoom } from '../support/client.ts'
import type { ParsedFamily } from '../support/prometheus.ts'
import { parseExposition, sampleValue } from '../support/prometheus.ts'
import type { ServerHandle } from '../support/server.ts'
import type { SuiteContext } from './suite.ts'

const METRICS_TOKEN = 'metrics-token-0123456789'
const bytes = (s: string | Buffer) => (typeof s === 'string' ? Buffer.byteLength(s) : s.length)

/** Scrape `base`/metrics and parse it strictly. */
async function scrape(base: string, token?: string): Promise<Map<string, ParsedFamily>> {
  const res = await fetch(`${base}/metrics`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return parseExposition(await res.text())
}

/** The port of the METRICS_PORT listener, from the line the server prints once it listens there. */
async function metricsPortOf(server: ServerHandle): Promise<number> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const m = /metrics on http:\/\/[^\s:]+:(\d+)\/metrics/.exec(server.output())
    if (m !== null) return Number(m[1])
    if (Date.now() > deadline) throw new Error(`no metrics listener line in:\n${server.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export function metricsScenarios(ctx: SuiteContext): void {
  describe.runIf(ctx.target.caps.metrics !== false)('metrics', () => {
    it('moves every counter by exactly what happened: upgrades, publishes by source, deliveries, bytes, refusals, closes', async () => {
      const { http, ws } = ctx.server
      const room = uniqueRoom('metrics')
      const url = `${ws}/rooms/${room}`
      const post = (body: string) => fetch(`${http}/rooms/${room}/messages`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })
      const r1 = await connect(url)
      const r2 = await connect(url)
      const { client: j } = await connectJson(url)
      // Once each member has a broadcast, each is live: the counted broadcasts below reach all three.
      expect((await post('warm-up')).status).toBe(202)
      expect(await r1.text()).toBe('warm-up')
      expect(await r2.text()).toBe('warm-up')
      await j.frame('message')
      const health = (await (await fetch(`${http}/healthz`)).json()) as { backend: string }

      const before = await scrape(http)
      const jsonPublish = JSON.stringify({ type: 'publish', data: 'from-json', id: 'a' })
      j.send(jsonPublish)
      expect(await j.frame('ack')).toMatchObject({ id: 'a' })
      r1.send('from-raw')
      expect((await post('from-http')).status).toBe(202)
      const rawGot = [await r1.text(), await r1.text(), await r1.text()]
      expect([await r2.text(), await r2.text(), await r2.text()]).toEqual(rawGot)
      expect(rawGot.sort()).toEqual(['from-http', 'from-json', 'from-raw'])
      // The json publisher gets an ack for its own message, and the other two as message frames, kept as sent.
      const jsonGot: string[] = []
      while (jsonGot.length < 2) {
        const text = await j.text()
        const type = JSON.parse(text).type
        if (type === 'message') jsonGot.push(text)
        else expect(type).toBe('presence')
      }
      j.send('{nope')
      expect((await j.frame('error')).code).toBe('bad_json')
      const badRoom = await refused(`${ws}/rooms/${'x'.repeat(65)}`)
      expect(badRoom.error).toBe('bad_room')
      const { client: k } = await connectJson(url)
      k.send(Buffer.from([1, 2, 3]))
      expect((await k.closed).code).toBe(1003)
      const after = await scrape(http)

      const delta = (name: string, labels: Record<string, string> = {}) => (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0)
      expect(delta('roomcast_upgrades_total', { result: 'accepted' })).toBe(1)
      expect(delta('roomcast_upgrades_total', { result: 'bad_room' })).toBe(1)
      expect(delta('roomcast_messages_published_total', { source: 'ws' })).toBe(2)
      expect(delta('roomcast_messages_published_total', { source: 'http' })).toBe(1)
      expect(delta('roomcast_messages_published_total', { source: 'server' })).toBe(0)
      // Three broadcasts: the json publisher is left out of its own; a raw publisher is not.
      expect(delta('roomcast_deliveries_total')).toBe(3 + 3 + 2)
      expect(delta('roomcast_fanout_seconds_count')).toBe(3)
      expect(delta('roomcast_publish_seconds_count')).toBe(3)
      expect(delta('roomcast_frames_refused_total', { code: 'bad_json' })).toBe(1)
      expect(delta('roomcast_closes_total', { code: 'binary_unsupported' })).toBe(1)
      expect(delta('roomcast_bytes_received_total')).toBe(bytes(jsonPublish) + bytes('from-raw') + bytes('{nope') + 3)
      // What the raw members got, plus the json member's message frames: byte for byte what was sent.
      const jsonBytes = jsonGot.reduce((n, t) => n + bytes(t), 0)
      expect(delta('roomcast_bytes_sent_total')).toBe(2 * (bytes('from-json') + bytes('from-raw') + bytes('from-http')) + jsonBytes)

      expect(sampleValue(after, 'roomcast_connections', { mode: 'raw' })).toBeGreaterThanOrEqual(2)
      expect(sampleValue(after, 'roomcast_connections', { mode: 'json' })).toBeGreaterThanOrEqual(1)
      expect(sampleValue(after, 'roomcast_rooms')).toBeGreaterThanOrEqual(1)
      expect(sampleValue(after, 'roomcast_backend_up', { backend: health.backend })).toBe(1)
      expect(sampleValue(after, 'roomcast_event_loop_lag_seconds')).toBeGreaterThanOrEqual(0)
      if (health.backend === 'memory') {
        expect(sampleValue(after, 'roomcast_history_bytes')).toBeGreaterThanOrEqual(bytes('warm-upfrom-jsonfrom-rawfrom-http'))
      } else {
        // Every publish is one append script; history lives in Redis, not here.
        expect(delta('roomcast_backend_command_seconds_count', { command: 'append' })).toBe(3)
        expect(sampleValue(after, 'roomcast_history_bytes')).toBe(0)
      }
      await Promise.all([r1.close(), r2.close(), j.close()])
    })

    it.runIf(ctx.target.caps.multiplexing ?? true)(
      'counts protocol v2 connections by mode, its publishes by source, its refused frames and its closes by code',
      async () => {
        // A server of its own: the gauges of the shared one move as earlier scenarios' members leave.
        const server = await ctx.target.start(ctx.env)
        const { http, ws } = server
        const room = uniqueRoom('metrics2')
        const openV2 = async () => {
          const client = await connect(`${ws}/`, { protocols: 'roomcast.v2' })
          await client.text()
          return client
        }
        try {
          const before = await scrape(http)
          const reader = await openV2()
          const writer = await openV2()
          for (const r of [room, `${room}-b`, `${room}-c`]) {
            reader.send({ type: 'subscribe', room: r, id: r })
            expect(await reader.frame('subscribed')).toMatchObject({ room: r })
          }
          const during = await scrape(http)
          reader.send({ type: 'subscribe', room, id: 'again' })
          expect((await reader.frame('error')).code).toBe('already_subscribed')
          reader.send({ type: 'subscribe', room: 'x'.repeat(65), id: 'bad' })
          expect((await reader.frame('error')).code).toBe('bad_room')
          reader.send('{nope')
          expect((await reader.frame('error')).code).toBe('bad_json')
          // A publish to a room the writer is not subscribed to is still a WebSocket publish.
          writer.send({ type: 'publish', room, data: 'over v2', id: 'p' })
          expect(await writer.frame('ack')).toMatchObject({ room, seq: 1 })
          expect(await reader.frame('message')).toMatchObject({ room, data: 'over v2' })
          const binary = await openV2()
          binary.send(Buffer.from([1, 2, 3]))
          expect((await binary.closed).code).toBe(1003)
          const after = await scrape(http)

          const delta = (name: string, labels: Record<string, string> = {}, from = before, to = after) =>
            (sampleValue(to, name, labels) ?? 0) - (sampleValue(from, name, labels) ?? 0)
          // Two v2 connections, however many rooms they hold (three); their subscriptions are not json members.
          expect(delta('roomcast_connections', { mode: 'v2' }, before, during)).toBe(2)
          expect(delta('roomcast_connections', { mode: 'json' }, before, during)).toBe(0)
          expect(delta('roomcast_upgrades_total', { result: 'accepted' })).toBe(3)
          expect(delta('roomcast_messages_published_total', { source: 'ws' })).toBe(1)
          expect(delta('roomcast_messages_published_total', { source: 'http' })).toBe(0)
          expect(delta('roomcast_frames_refused_total', { code: 'already_subscribed' })).toBe(1)
          expect(delta('roomcast_frames_refused_total', { code: 'bad_room' })).toBe(1)
          expect(delta('roomcast_frames_refused_total', { code: 'bad_json' })).toBe(1)
          expect(delta('roomcast_closes_total', { code: 'binary_unsupported' })).toBe(1)
          await Promise.all([reader.close(), writer.close()])
        } finally {
          await server.stop()
        }
      },
      60_000,
    )

    describe('with METRICS_TOKEN', () => {
      let server: ServerHandle
      beforeAll(async () => {
        server = await ctx.target.start({ ...ctx.env, METRICS_TOKEN })
      }, 120_000)
      afterAll(async () => {
        await server?.stop()
      }, 30_000)

      it('answers 401 without the token or with another, from the Refusals table, and 200 with it', async () => {
        for (const auth of [undefined, 'Bearer not-the-token-0123456789', METRICS_TOKEN]) {
          const res = await fetch(`${server.http}/metrics`, { headers: auth === undefined ? {} : { authorization: auth } })
          expect(res.status, String(auth)).toBe(401)
          expect(res.headers.get('x-roomcast-error')).toBe('unauthorized')
          expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
          expect(await res.json()).toMatchObject({ error: 'unauthorized' })
        }
        const f = await scrape(server.http, METRICS_TOKEN)
        // The three refused scrapes were counted (HTTP refusals that are not upgrades).
        expect(sampleValue(f, 'roomcast_http_refusals_total', { code: 'unauthorized' })).toBe(3)
      })
    })

    describe('with METRICS_PORT', () => {
      let server: ServerHandle
      let port: number
      beforeAll(async () => {
        server = await ctx.target.start({ ...ctx.env, METRICS_PORT: '0', METRICS_TOKEN })
        port = await metricsPortOf(server)
      }, 120_000)
      afterAll(async () => {
        await server?.stop()
      }, 30_000)

      it('serves /metrics only on its own port, and nothing else there', async () => {
        const main = await fetch(`${server.http}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
        expect(main.status).toBe(404)
        expect(main.headers.get('x-roomcast-error')).toBe('not_found')
        const own = `http://127.0.0.1:${port}`
        expect(port).not.toBe(server.port)
        expect((await fetch(`${own}/metrics`)).status).toBe(401)
        const room = uniqueRoom('mport')
        const member = await connect(`${server.ws}/rooms/${room}`)
        const f = await scrape(own, METRICS_TOKEN)
        expect(sampleValue(f, 'roomcast_upgrades_total', { result: 'accepted' })).toBe(1)
        expect(sampleValue(f, 'roomcast_connections', { mode: 'raw' })).toBe(1)
        for (const path of [`/rooms/${room}`, '/healthz', '/']) {
          const res = await fetch(`${own}${path}`)
          expect(res.status, path).toBe(404)
        }
        await member.close()
      })
    })
  })
}
