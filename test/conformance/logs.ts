/**
 * Structured logs from a live server: each kind of server close and refusal is one JSON line with its
 * code, room, connection id and client address, connections open and close at debug, the start-up
 * configuration comes once with its secrets masked, and no token, cookie or message content is ever written.
 */
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, connectJson, refused, sleep, uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import type { SuiteContext } from './suite.ts'

const SECRET = 'logs-secret-0123456789-abcdefghijklmn'
const PUBLISH_KEY = 'logs-publish-key-0123456789'
const CONTENT = 's3cret-message-content'
const COOKIE = 'session=c00kie-value-0123456789'
const ORIGIN = 'https://app.example.com'

/** The escape that starts a terminal colour code (deno task colours its announcement). */
const ESC = String.fromCharCode(27)

type Line = Record<string, unknown> & { time: string; level: string; msg: string }

function sign(rooms: string[], opts: { pub?: boolean; sub?: string; ttl?: number } = {}): Promise<string> {
  const jwt = new SignJWT({ rooms, pub: opts.pub ?? true })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.ttl ?? 3600))
  if (opts.sub !== undefined) jwt.setSubject(opts.sub)
  return jwt.sign(new TextEncoder().encode(SECRET))
}

/**
 * The server's output as lines, and the JSON ones parsed; a line that is neither JSON nor the runtime's own is a
 * failure, unless `launcherLines` (wrangler prints its own around the Worker's).
 */
function linesOf(server: ServerHandle, launcherLines = false): Line[] {
  const out: Line[] = []
  for (const line of server.output().split('\n')) {
    if (line.trim() === '') continue
    // `deno task` announces the command it runs; that line is Deno's, not ours.
    if (/^(\[[0-9;]*m)*Task(\[[0-9;]*m)* /.test(line.replaceAll(ESC, ''))) continue
    if (launcherLines && !line.startsWith('{')) continue
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      throw new Error(`not a JSON line: ${line}`)
    }
    out.push(parsed as Line)
  }
  return out
}

/** Wait until a line matching `match` was written; returns it. */
async function lineOf(server: ServerHandle, match: Partial<Line>, timeoutMs = 5000, launcherLines = false): Promise<Line> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = linesOf(server, launcherLines).find((l) => Object.entries(match).every(([k, v]) => l[k] === v))
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`no line like ${JSON.stringify(match)} in:\n${server.output()}`)
    await sleep(25)
  }
}

export function logScenarios(ctx: SuiteContext): void {
  describe.runIf(ctx.target.caps.structuredLogs !== false)('structured logs', () => {
    let server: ServerHandle
    const launcher = ctx.target.caps.startupLog === false
    const line = (s: ServerHandle, match: Partial<Line>, timeoutMs = 5000) => lineOf(s, match, timeoutMs, launcher)
    const tokens: string[] = []
    const token = async (rooms: string[], opts?: Parameters<typeof sign>[1]) => {
      const t = await sign(rooms, opts)
      tokens.push(t)
      return t
    }
    const url = (room: string, t?: string) => `${server.ws}/rooms/${room}${t === undefined ? '' : `?token=${t}`}`

    beforeAll(async () => {
      server = await ctx.target.start({
        ...ctx.env,
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'debug',
        AUTH_SECRET: SECRET,
        PUBLISH_KEY,
        ALLOWED_ORIGINS: ORIGIN,
        RATE_LIMIT: '1',
        RATE_BURST: '2',
        FLOOD_STRIKES: '3',
        BAD_FRAME_BUDGET: '2',
        MAX_ROOM_CONNECTIONS: '1',
        MAX_UPGRADES_PER_IP: '15',
        MAX_FRAME_BYTES: '1024',
      })
    }, 120_000)
    afterAll(async () => {
      await server?.stop()
    }, 30_000)

    it.runIf(!launcher)('prints the effective configuration once, secrets masked', async () => {
      const configs = linesOf(server).filter((l) => l.msg === 'configuration')
      expect(configs).toHaveLength(1)
      expect(configs[0]?.config).toMatchObject({ AUTH_SECRET: '***', PUBLISH_KEY: '***', MAX_FRAME_BYTES: 1024, LOG_FORMAT: 'json', LOG_LEVEL: 'debug' })
      expect(linesOf(server).find((l) => /listening on http/.test(l.msg))?.level).toBe('info')
    })

    it('logs a connection opening and closing at debug, with the id its welcome gave', async () => {
      const room = uniqueRoom('open')
      const { client, welcome } = await connectJson(url(room, await token([room], { sub: 'alice' })), { headers: { cookie: COOKIE } })
      const opened = await line(server, { msg: 'connected', connectionId: welcome.connectionId })
      expect(opened).toMatchObject({ level: 'debug', room, ip: expect.stringMatching(/127\.0\.0\.1/), mode: 'json', sub: 'alice' })
      await client.close()
      expect(await line(server, { msg: 'disconnected', connectionId: welcome.connectionId })).toMatchObject({ level: 'debug', room })
    })

    it('logs each refused upgrade at info with its code, status, room, address and reason', async () => {
      const room = uniqueRoom('refuse')
      const cases: [string, () => Promise<unknown>, number][] = [
        ['unauthorized', () => refused(url(room)), 401],
        ['forbidden', async () => refused(url(room, await token(['elsewhere']))), 403],
        ['bad_origin', async () => refused(url(room, await token([room])), { headers: { origin: 'https://evil.example.com' } }), 403],
        ['bad_room', () => refused(`${server.ws}/rooms/${'x'.repeat(65)}`), 400],
      ]
      for (const [code, provoke, status] of cases) {
        await provoke()
        const l = await line(server, { msg: 'upgrade refused', code })
        expect(l, code).toMatchObject({ level: 'info', status, ip: expect.stringMatching(/127\.0\.0\.1/), reason: expect.any(String) })
        if (code !== 'bad_room') expect(l.room, code).toBe(room)
      }
      // MAX_ROOM_CONNECTIONS=1: the second member is refused before the upgrade.
      const full = uniqueRoom('full')
      const first = await connect(url(full, await token([full])))
      expect((await refused(url(full, await token([full])))).status).toBe(503)
      expect(await line(server, { msg: 'upgrade refused', code: 'room_full' })).toMatchObject({ level: 'info', status: 503, room: full })
      await first.close()
    })

    it('logs each refused HTTP publish at info with its method and path, never its query', async () => {
      const room = uniqueRoom('post')
      const wrong = await fetch(`${server.http}/rooms/${room}/messages?key=${PUBLISH_KEY}`, {
        method: 'POST',
        body: CONTENT,
        headers: { authorization: 'Bearer not-the-key-0123456789', 'content-type': 'text/plain', cookie: COOKIE },
      })
      expect(wrong.status).toBe(401)
      expect(await line(server, { msg: 'request refused', code: 'unauthorized' })).toMatchObject({
        level: 'info',
        status: 401,
        method: 'POST',
        path: `/rooms/${room}/messages`,
        room,
      })
      const form = await fetch(`${server.http}/rooms/${room}/messages`, {
        method: 'POST',
        body: `m=${CONTENT}`,
        headers: { authorization: `Bearer ${PUBLISH_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
      })
      expect(form.status).toBe(415)
      expect(await line(server, { msg: 'request refused', code: 'unsupported_type' })).toMatchObject({ status: 415, room })
      const ok = await fetch(`${server.http}/rooms/${room}/messages`, { method: 'POST', body: CONTENT, headers: { authorization: `Bearer ${PUBLISH_KEY}` } })
      expect(ok.status).toBe(202)
    })

    it('logs refused frames at info, and each kind of server close with its close code (abuse at warn)', async () => {
      // A room per member (MAX_ROOM_CONNECTIONS is 1), all granted by one token pattern.
      const base = uniqueRoom('frames')
      const all = await token([`${base}*`], { sub: 'mallory' })
      let n = 0
      const connectTo = async () => {
        const room = `${base}-${++n}`
        return { ...(await connectJson(url(room, all))), room }
      }
      const room = `${base}-reader`
      const reader = await connectJson(url(room, await token([room], { pub: false })))
      reader.client.send({ type: 'publish', data: CONTENT })
      expect((await reader.client.frame('error')).code).toBe('forbidden')
      expect(await line(server, { msg: 'frame refused', code: 'forbidden' })).toMatchObject({ level: 'info', room, connectionId: reader.welcome.connectionId })
      await reader.client.close()

      const bad = await connectTo()
      for (const frame of ['{nope', '[]', '[]']) bad.client.send(frame)
      expect((await bad.client.closed).code).toBe(1008)
      expect(await line(server, { msg: 'frame refused', code: 'bad_json' })).toMatchObject({ connectionId: bad.welcome.connectionId })
      expect(await line(server, { msg: 'closed', code: 'too_many_errors' })).toMatchObject({
        level: 'warn',
        close: 1008,
        room: bad.room,
        connectionId: bad.welcome.connectionId,
        ip: expect.stringMatching(/127\.0\.0\.1/),
        sub: 'mallory',
      })

      const flooder = await connectTo()
      // RATE_BURST 2 published, FLOOD_STRIKES 3 refused, and the sixth closes it; nothing sent after the close.
      for (let i = 0; i < 6; i++) flooder.client.send({ type: 'publish', data: CONTENT })
      await flooder.client.closed
      expect(await line(server, { msg: 'frame refused', code: 'rate_limited' })).toMatchObject({ connectionId: flooder.welcome.connectionId })
      expect(await line(server, { msg: 'closed', code: 'flooding' })).toMatchObject({ level: 'warn', close: 1008, connectionId: flooder.welcome.connectionId })

      const binary = await connectTo()
      binary.client.send(Buffer.from([1, 2, 3]))
      expect((await binary.client.closed).code).toBe(1003)
      expect(await line(server, { msg: 'closed', code: 'binary_unsupported' })).toMatchObject({
        level: 'info',
        close: 1003,
        connectionId: binary.welcome.connectionId,
      })

      // Over MAX_FRAME_BYTES: refused by the transport (Node, Bun) or by the core (Deno), logged the same.
      const big = await connectTo()
      big.client.send({ type: 'publish', data: `${CONTENT}${'x'.repeat(2000)}` })
      expect((await big.client.closed).code).toBe(1009)
      expect(await line(server, { msg: 'closed', code: 'too_large' })).toMatchObject({ level: 'info', close: 1009, connectionId: big.welcome.connectionId })

      const expiring = await connectJson(url(`${base}-expiring`, await token([`${base}-expiring`], { ttl: 1 })))
      expect((await expiring.client.closed).code).toBe(4001)
      expect(await line(server, { msg: 'closed', code: 'token_expired' })).toMatchObject({
        level: 'info',
        close: 4001,
        connectionId: expiring.welcome.connectionId,
      })
    })

    it.runIf(ctx.target.caps.multiplexing ?? true)(
      'logs a protocol v2 connection’s refusals and closes like v1’s: code, room, the welcome’s connection id, address, sub',
      async () => {
        const base = uniqueRoom('v2log')
        const t = await token([`${base}*`], { sub: 'mallory' })
        const openV2 = async () => {
          const client = await connect(`${server.ws}/?token=${t}`, { protocols: 'roomcast.v2' })
          return { client, id: JSON.parse(await client.text()).connectionId as string }
        }
        const a = await openV2()
        expect(await line(server, { msg: 'connected', connectionId: a.id })).toMatchObject({ level: 'debug', mode: 'v2', sub: 'mallory' })
        a.client.send({ type: 'subscribe', room: 'elsewhere', id: 's1' })
        expect((await a.client.frame('error')).code).toBe('forbidden')
        expect(await line(server, { msg: 'frame refused', code: 'forbidden', connectionId: a.id })).toMatchObject({
          level: 'info',
          room: 'elsewhere',
          ip: expect.stringMatching(/127\.0\.0\.1/),
          sub: 'mallory',
        })
        // MAX_ROOM_CONNECTIONS=1: a v1 member fills the room, so the subscribe is refused (and not counted as a close).
        const full = `${base}-full`
        const first = await connectJson(url(full, t))
        a.client.send({ type: 'subscribe', room: full, id: 's2' })
        expect((await a.client.frame('error')).code).toBe('room_full')
        expect(await line(server, { msg: 'frame refused', code: 'room_full', connectionId: a.id })).toMatchObject({ room: full })
        await first.client.close()
        await a.client.close()
        expect(await line(server, { msg: 'disconnected', connectionId: a.id })).toMatchObject({ level: 'debug' })

        const bad = await openV2()
        for (const frame of ['{nope', '[]', '[]']) bad.client.send(frame)
        expect((await bad.client.closed).code).toBe(1008)
        expect(await line(server, { msg: 'frame refused', code: 'bad_json', connectionId: bad.id })).toMatchObject({ level: 'info' })
        expect(await line(server, { msg: 'closed', code: 'too_many_errors', connectionId: bad.id })).toMatchObject({
          level: 'warn',
          close: 1008,
          ip: expect.stringMatching(/127\.0\.0\.1/),
          sub: 'mallory',
        })

        const flooder = await openV2()
        // RATE_BURST 2 published, FLOOD_STRIKES 3 refused, and the sixth closes it.
        for (let i = 0; i < 6; i++) flooder.client.send({ type: 'publish', room: `${base}-flood`, data: CONTENT })
        expect((await flooder.client.closed).code).toBe(1008)
        expect(await line(server, { msg: 'frame refused', code: 'rate_limited', connectionId: flooder.id })).toMatchObject({ room: `${base}-flood` })
        expect(await line(server, { msg: 'closed', code: 'flooding', connectionId: flooder.id })).toMatchObject({ level: 'warn', close: 1008 })

        const binary = await openV2()
        binary.client.send(Buffer.from([1, 2, 3]))
        expect((await binary.client.closed).code).toBe(1003)
        expect(await line(server, { msg: 'closed', code: 'binary_unsupported', connectionId: binary.id })).toMatchObject({ level: 'info', close: 1003 })
      },
    )

    it('logs too many upgrades from one address at warn', async () => {
      const room = uniqueRoom('burst')
      const t = await token([room])
      // MAX_UPGRADES_PER_IP=15 per second: a burst of 60 passes it even if it spreads over three seconds.
      const results = await Promise.all(Array.from({ length: 60 }, () => refused(url(room, t)).catch(() => null)))
      expect(results.some((r) => r?.status === 429)).toBe(true)
      expect(await line(server, { msg: 'upgrade refused', code: 'rate_limited' })).toMatchObject({
        level: 'warn',
        status: 429,
        ip: expect.stringMatching(/127\.0\.0\.1/),
      })
    })

    it('never writes a token, a secret, a cookie or message content', async () => {
      // Let the last lines (closes of the burst above) land first.
      await sleep(200)
      const out = server.output()
      expect(tokens.length).toBeGreaterThan(5)
      for (const t of tokens) expect(out).not.toContain(t)
      for (const s of [SECRET, PUBLISH_KEY, CONTENT, 'c00kie-value']) expect(out).not.toContain(s)
    })

    it.runIf(ctx.target.caps.gracefulShutdown)('logs the shutdown closes, once per member', async () => {
      // The burst above used up this second's upgrades from 127.0.0.1.
      await sleep(1100)
      const room = uniqueRoom('bye')
      const { welcome } = await connectJson(url(room, await token([room])))
      expect(await server.stop('SIGTERM')).toBe(0)
      expect(linesOf(server).filter((l) => l.msg === 'closed' && l.code === 'shutting_down' && l.connectionId === welcome.connectionId)).toHaveLength(1)
      expect(linesOf(server).find((l) => l.msg === 'shutting down: closing connections')).toMatchObject({ signal: 'SIGTERM' })
    })
  })

  describe.runIf(ctx.target.caps.structuredLogs !== false)('LOG_LEVEL and LOG_FORMAT=text', () => {
    let server: ServerHandle
    beforeAll(async () => {
      server = await ctx.target.start({ ...ctx.env, LOG_FORMAT: 'text', LOG_LEVEL: 'warn', RATE_LIMIT: '1', RATE_BURST: '1', FLOOD_STRIKES: '2' })
    }, 120_000)
    afterAll(async () => {
      await server?.stop()
    }, 30_000)

    it('writes warn and error lines only (and the start-up lines), as text', async () => {
      const room = uniqueRoom('level')
      const quiet = await connectJson(`${server.ws}/rooms/${room}`)
      quiet.client.send('{nope')
      expect((await quiet.client.frame('error')).code).toBe('bad_json')
      await quiet.client.close()
      const flooder = await connectJson(`${server.ws}/rooms/${room}`)
      // RATE_BURST 1 published, FLOOD_STRIKES 2 refused, and the fourth closes it.
      for (let i = 0; i < 4; i++) flooder.client.send({ type: 'publish', data: i })
      await flooder.client.closed
      const deadline = Date.now() + 5000
      while (!/ WARN {2}closed code=flooding/.test(server.output()) && Date.now() < deadline) await sleep(25)
      const lines = server
        .output()
        .split('\n')
        .filter((l) => /^\d{4}-\d\d-\d\dT/.test(l))
      expect(lines.find((l) => l.includes('closed code=flooding'))).toMatch(
        new RegExp(`^\\S+Z WARN  closed code=flooding close=1008 room=${room} connectionId=${flooder.welcome.connectionId} ip=\\S*127\\.0\\.0\\.1`),
      )
      // Only the start-up lines are marked info; no debug line, no info line about the bad frame or the connections.
      for (const l of lines) expect(l).toMatch(/^\S+Z (WARN |ERROR|INFO {2}(configuration|roomcast listening on|roomcast metrics on))/)
      // Once, where the server has a start-up of its own (not on Cloudflare).
      expect(lines.filter((l) => / INFO {2}configuration /.test(l))).toHaveLength(ctx.target.caps.startupLog === false ? 0 : 1)
    })
  })
}
