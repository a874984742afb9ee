/** The Hono app: routes, upgrade wiring, HTTP publish, stats and the chat page. The same on every runtime. */

import type { Context, MiddlewareHandler } from 'hono'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { GetConnInfo } from 'hono/conninfo'
import { basePath } from 'hono/route'
import type { Grant } from '../access/credentials.ts'
import { bearer, createVerifier, tokenFromProtocols } from '../access/credentials.ts'
import type { Admitted } from '../access/door.ts'
import { Door, isRefusal } from '../access/door.ts'
import { chatJs, chatRoomsJs, clientJs } from '../client/bundle.gen.ts'
import { chatPage } from '../client/chat-page.ts'
import { chatRoomsPage } from '../client/chat-rooms-page.ts'
import { realClock } from '../config/clock.ts'
import type { Config } from '../config/config.ts'
import { authorizeWith, decideWith } from '../hooks/authorize.ts'
import type { AuthorizeRequest, ConnectRequest, Hooks, Identity, MemberData } from '../hooks/hooks.ts'
import { Rejected } from '../hooks/hooks.ts'
import type { Once } from '../log/room-log.ts'
import { OutcomeUnknown, Unavailable, dedupeKey } from '../log/room-log.ts'
import { errorFields } from '../ops/logger.ts'
import { Ops } from '../ops/ops.ts'
import type { JoinRequest } from '../room/connection.ts'
import { httpIdentity } from '../room/publisher.ts'
import { MAX_JSON_DEPTH, nestedTooDeeply } from '../wire/decode.ts'
import { WEBSOCKET_VERSION, handshakeProblem, hasDotSegment, isValidHost } from '../wire/handshake.ts'
import { parseIdempotencyKey } from '../wire/idempotency.ts'
import { parseJoinQuery, readClientKey, wantsV2 } from '../wire/join.ts'
import { SUBPROTOCOL_V2, isRoomName } from '../wire/names.ts'
import { Refusals, refusalResponse } from '../wire/refusals.ts'
import { mountAdmin } from './admin-routes.ts'
import { bodyHash } from './body-hash.ts'
import type { RoomGateway, ScopedSession } from './gateway.ts'
import type { Health } from './health.ts'
import type { RoomAccess } from './room-access.ts'
import type { SessionGrant, SessionOptions } from './session.ts'

export type { Health } from './health.ts'

import { serveMetrics } from './metrics-route.ts'
import { observe } from './observe.ts'

export interface AppOptions {
  config: Config
  gateway: RoomGateway
  /**
   * The runtime's Hono `getConnInfo` (from `@hono/node-server/conninfo`,
   * `hono/deno`, `hono/bun`, `hono/cloudflare-workers`): the client address
   * for per-address upgrade limits. Without it, upgrades are not counted per address.
   */
  getConnInfo?: GetConnInfo
  /** The state of the backend rooms depend on (Redis); absent: always ready (memory, Durable Objects). */
  health?: () => Health
  /** The application's hooks; the app runs `authorize`, the rooms run the rest. */
  hooks?: Hooks
  /**
   * `after` (default): `authorize` runs after the built-in token and publish-key checks, which still refuse.
   * `replace`: those checks are skipped and `authorize` alone decides who gets in (it must be given).
   */
  auth?: AuthMode
  /** Where a hook's failures go; default console.error. */
  onError?: (err: unknown) => void
  /**
   * The request target as the client sent it, where the runtime keeps it
   * (Node: the IncomingMessage's url). A `.` or `..` segment in it is refused
   * (400) before the URL parser resolves it away (`/rooms/..` would be `/`).
   */
  requestTarget?: (c: Context) => string | undefined
  /**
   * The instance's metrics and log (ops/ops.ts), the Hub's own. With it the app serves `GET /metrics`
   * (unless METRICS_PORT moves it to a listener of its own, or `metricsRoute` is false); without it
   * refusals are still counted and errors logged, but nothing is served.
   */
  ops?: Ops
  /** Serve `/metrics` on this app; default: when `ops` is given and METRICS_PORT is not set. False on Cloudflare. */
  metricsRoute?: boolean
}

/** Whether `authorize` sits after the built-in token check or replaces it. */
export type AuthMode = 'after' | 'replace'

const ALWAYS_READY: Health = { ready: true, backend: 'memory' }

/** Read the join request from an upgrade's query and headers (the rules are wire/join.ts's); a string is the reason it is bad. */
export function parseJoin(c: Context): JoinRequest | string {
  return parseJoinQuery(c.req.header('sec-websocket-protocol'), (name) => c.req.query(name))
}

// The page runs only its own script and talks only to its own host: injected markup could do nothing.
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Serve one of the pre-built browser scripts (src/client/bundle.gen.ts). */
function script(c: Context, js: string): Response {
  return c.body(js, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' })
}

/** Whether an upgrade (or its door check) asks for protocol v2. */
function asksV2(c: Context): boolean {
  return wantsV2(c.req.header('sec-websocket-protocol'), c.req.query('protocol'))
}

function isUpgrade(c: Context): boolean {
  return c.req.header('upgrade')?.toLowerCase() === 'websocket'
}

/** An upgrade, or a door check of one (`?check`). */
function isJoin(c: Context): boolean {
  return isUpgrade(c) || c.req.query('check') !== undefined
}

const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data'])
const FORM_REFUSAL = "a form body is not a message (curl -d sends one); send -H 'content-type: text/plain' or -H 'content-type: application/json'"

/** The answer to a target with a `.` or `..` segment: where it names a room, that room name is invalid. */
function dotSegmentRefusal(target: string): Response {
  const path = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')
  if (/^\/rooms[/\\]/i.test(path)) return refusalResponse('bad_room')
  return refusalResponse('bad_request', 'the request target has a . or .. segment; send the path resolved')
}

/** Per-request values: the authenticated publisher, shown as `from`, and the identity its Idempotency-Key belongs to. */
export type AppEnv = { Variables: { from: string | undefined; publisher: string } }

/** The grant with the identity `authorize` gave laid over it. */
function withIdentity(grant: Grant | undefined, identity: Identity): { sub?: string; pub?: boolean; exp?: number; info?: MemberData } {
  return { sub: identity.sub ?? grant?.sub, pub: identity.canPublish ?? grant?.pub, exp: grant?.exp, info: identity.info }
}

const NO_GRANT: Admitted = {}

/** Build the app over a gateway. */
export function createApp({
  config,
  gateway,
  getConnInfo,
  health = () => ALWAYS_READY,
  hooks = {},
  auth = 'after',
  onError = (err) => console.error(err),
  requestTarget,
  ops: given,
  metricsRoute,
}: AppOptions): Hono<AppEnv> {
  const authorize = hooks.authorize
  if (auth === 'replace' && authorize === undefined)
    throw new TypeError("roomcast: auth: 'replace' needs an authorize hook, which alone then decides who gets in")
  const builtIn = auth === 'after'
  const app = new Hono<AppEnv>()
  const ops = given ?? Ops.quiet()
  const door = new Door(
    config,
    realClock,
    createVerifier(config.access, (err) => ops.log.error('token verification failed on our side', errorFields(err))),
  )
  // Past the door, a caller either showed a valid credential or none was asked for.
  const credentialed = config.access.publishKey !== undefined || door.requiresToken
  const clientIp = (c: Context): string | undefined => {
    try {
      return getConnInfo?.(c).remote.address
    } catch {
      return undefined
    }
  }

  // Cheapest checks first, so a flood of bad upgrades costs no token verification. A plain GET with `?check`
  // (a door check) gets the same answers, or 204 where an upgrade would be let in: a browser cannot read a
  // refused upgrade's status, so its client asks this way why it was turned away.
  /**
   * What every upgrade (v1 or v2, and its door check) is refused for before anything is created: the per-address
   * limit, a request the runtime would not upgrade (a door check is a plain GET, with no handshake headers to
   * check), a bad Origin. Null: none of them.
   */
  const doorRefusal = (c: Context, ip: string | undefined): Response | null => {
    const throttled = door.throttle(ip)
    if (throttled !== null) return refusalResponse(throttled)
    const bad = isUpgrade(c) ? handshakeProblem(c.req.raw.headers) : null
    if (bad !== null) {
      if (bad.status !== 426) return refusalResponse('bad_request', bad.message)
      const res = refusalResponse('unsupported_version', bad.message)
      res.headers.set('Sec-WebSocket-Version', WEBSOCKET_VERSION)
      return res
    }
    const badOrigin = door.checkOrigin(c.req.header('origin'))
    return badOrigin === null ? null : refusalResponse(badOrigin)
  }

  /** An upgrade's credential: `?token=`, a second subprotocol entry, or `Authorization: Bearer`. */
  const credential = (c: Context): string | undefined =>
    c.req.query('token') ?? tokenFromProtocols(c.req.header('sec-websocket-protocol')) ?? bearer(c.req.header('authorization'))

  /**
   * Whether this instance can take a member of `room` now: ready (a member could neither get its welcome nor
   * publish), under MAX_CONNECTIONS, the room not full. MAX_ROOMS is the caller's, just before its upgrade.
   */
  const capacityRefusal = async (room: string): Promise<Response | null> => {
    const h = health()
    if (!h.ready) return refusalResponse('unavailable', h.detail)
    if (gateway.connections !== undefined && gateway.connections() >= config.maxConnections) return refusalResponse('server_full')
    if (await gateway.isFull(room)) return refusalResponse('room_full')
    return null
  }

  const upgrade = async (c: Context, room: string): Promise<Response> => {
    const ip = clientIp(c)
    // Before anything is created: a request the runtime would not upgrade must not open a room.
    const refused = doorRefusal(c, ip)
    if (refused !== null) return refused
    if (!isRoomName(room)) return refusalResponse('bad_room')
    if (asksV2(c)) return roomV2(c, room, ip)
    const join = parseJoin(c)
    if (typeof join === 'string') return refusalResponse('bad_request', join)
    if (ip !== undefined) join.ip = ip
    const token = credential(c)
    const admitted = builtIn ? await door.join(token, room) : NO_GRANT
    if (isRefusal(admitted)) return refusalResponse(admitted)
    let grant: ReturnType<typeof withIdentity> | undefined = admitted.grant
    if (authorize !== undefined) {
      const r = await authorizeWith(authorize, { request: c.req.raw, c, room, action: 'join', grant: admitted.grant }, config.hookTimeoutMs, onError)
      if ('refused' in r) return r.refused
      grant = withIdentity(admitted.grant, r.identity)
    }
    if (grant !== undefined) {
      const { sub, pub, exp, info } = grant
      if (sub !== undefined) join.from = sub
      join.canPublish = pub
      join.exp = exp
      if (info !== undefined) join.info = info
    }
    const full = await capacityRefusal(room)
    if (full !== null) return full
    // No await between this check and the upgrade, which opens the room: concurrent upgrades cannot both pass it.
    if (gateway.roomLimitReached?.(room)) return refusalResponse('too_many_rooms')
    if (!isUpgrade(c)) return c.body(null, 204)
    return gateway.upgrade(c, room, join)
  }

  // Protocol v2 on a room's own URL: a session that serves that room only (the v2 socket a Durable Object can
  // hold). Past the checks `upgrade` made, the door is v1's for that room: the token must grant it, the
  // authorize hook is asked about it, and a full room is refused before the upgrade.
  const roomV2 = async (c: Context, room: string, ip: string | undefined): Promise<Response> => {
    if (gateway.connectRoom === undefined) return refusalResponse('bad_request', 'roomcast.v2 is not served on a room URL here; connect on /')
    const client = readClientKey((name) => c.req.query(name))
    if (typeof client === 'object') return refusalResponse('bad_request', client.bad)
    const token = credential(c)
    const admitted = builtIn ? await door.join(token, room) : NO_GRANT
    if (isRefusal(admitted)) return refusalResponse(admitted)
    // Only this room is ever checked against the grant again, so that is all of it the session keeps.
    let grant: SessionGrant | undefined = admitted.grant === undefined ? undefined : { ...admitted.grant, rooms: [room] }
    let info: MemberData | undefined
    if (authorize !== undefined) {
      const ask: AuthorizeRequest = { request: c.req.raw, c, room, action: 'join', protocol: SUBPROTOCOL_V2 }
      if (admitted.grant !== undefined) ask.grant = admitted.grant
      const r = await authorizeWith(authorize, ask, config.hookTimeoutMs, onError)
      if ('refused' in r) return r.refused
      const g = withIdentity(admitted.grant, r.identity)
      grant = { rooms: [room], pub: g.pub ?? true }
      if (g.sub !== undefined) grant.sub = g.sub
      if (g.exp !== undefined) grant.exp = g.exp
      info = g.info
    }
    const full = await capacityRefusal(room)
    if (full !== null) return full
    if (gateway.roomLimitReached?.(room)) return refusalResponse('too_many_rooms')
    if (!isUpgrade(c)) return c.body(null, 204)
    const scoped: ScopedSession = {}
    if (grant !== undefined) scoped.grant = grant
    if (client !== undefined) scoped.client = client
    if (info !== undefined) scoped.info = info
    if (ip !== undefined) scoped.ip = ip
    return gateway.connectRoom(c, room, scoped)
  }

  // Protocol v2 on the mount root: the same door, but the token is not for one room (each subscribe checks it).
  const connectV2 = async (c: Context): Promise<Response> => {
    const ip = clientIp(c)
    const refused = doorRefusal(c, ip)
    if (refused !== null) return refused
    if (gateway.connect === undefined)
      return refusalResponse('bad_request', 'roomcast.v2 on / is not served here (one socket per room: use roomcast.v2 on /rooms/:room)')
    const client = readClientKey((name) => c.req.query(name))
    if (typeof client === 'object') return refusalResponse('bad_request', client.bad)
    const token = credential(c)
    const admitted = builtIn ? await door.connect(token) : NO_GRANT
    if (isRefusal(admitted)) return refusalResponse(admitted)
    // The authorize hook decides per room, and a v2 connection is for no room: it is asked here whether the
    // connection may open (and who it is), then by the session at each subscribe and first publish to a room.
    let access: RoomAccess | undefined
    if (authorize !== undefined) {
      const grant = admitted.grant
      const connect: ConnectRequest = { request: c.req.raw, c, action: 'connect', protocol: SUBPROTOCOL_V2 }
      if (grant !== undefined) connect.grant = grant
      const r = await authorizeWith(authorize, connect, config.hookTimeoutMs, onError)
      if ('refused' in r) return r.refused
      const { sub, pub, info } = withIdentity(grant, r.identity)
      const base: Identity = {}
      if (sub !== undefined) base.sub = sub
      if (pub !== undefined) base.canPublish = pub
      if (info !== undefined) base.info = info
      // The upgrade's request, kept for the connection's life: its headers (cookies) are what the hook reads.
      const request = new Request(c.req.raw.url, { method: c.req.raw.method, headers: c.req.raw.headers })
      access = {
        base,
        ask: (room, action) => {
          const req: AuthorizeRequest = { request, c, room, action, protocol: SUBPROTOCOL_V2 }
          if (grant !== undefined) req.grant = grant
          return decideWith(authorize, req, config.hookTimeoutMs, onError)
        },
      }
    }
    const h = health()
    if (!h.ready) return refusalResponse('unavailable', h.detail)
    if (gateway.connections !== undefined && gateway.connections() >= config.maxConnections) return refusalResponse('server_full')
    if (!isUpgrade(c)) return c.body(null, 204)
    const extras: SessionOptions = {}
    if (access !== undefined) extras.access = access
    if (ip !== undefined) extras.ip = ip
    return gateway.connect(c, admitted.grant, client, extras)
  }

  /** Origin, room name and the bearer credential of an HTTP request for `right` on `:room`. */
  const httpAccess =
    (right: 'read' | 'publish'): MiddlewareHandler<AppEnv> =>
    async (c, next) => {
      const badOrigin = door.checkOrigin(c.req.header('origin'))
      if (badOrigin !== null) return refusalResponse(badOrigin)
      const room = c.req.param('room') ?? ''
      if (!isRoomName(room)) return refusalResponse('bad_room')
      const admitted = builtIn ? await door.http(bearer(c.req.header('authorization')), room, right, clientIp(c)) : NO_GRANT
      if (isRefusal(admitted)) return refusalResponse(admitted)
      let sub = admitted.grant?.sub
      if (authorize !== undefined) {
        const r = await authorizeWith(authorize, { request: c.req.raw, c, room, action: right, grant: admitted.grant }, config.hookTimeoutMs, onError)
        if ('refused' in r) return r.refused
        if (right === 'publish' && r.identity.canPublish === false) return refusalResponse('forbidden', 'this identity may not publish')
        sub = r.identity.sub ?? sub
      }
      c.set('from', sub)
      c.set('publisher', httpIdentity(sub, credentialed))
      await next()
    }

  // Every answer counted, every refusal logged: they all carry X-Roomcast-Error, whichever check built them.
  app.use(observe(ops, config.defaultRoom, clientIp))
  ops.metrics.watchBackend(health)
  if (metricsRoute ?? (given !== undefined && ops.settings.metricsPort === undefined)) app.get('/metrics', (c) => serveMetrics(ops, c))

  // RFC 9110: a Host that names no host is a bad request. Runtimes disagree on what it does to the URL (Bun
  // leaves it relative, which Hono routes by the wrong path), so it is refused before anything routes.
  app.use(async (c, next) => {
    if (!isValidHost(c.req.header('host'))) return refusalResponse('bad_request', 'the Host header is not a valid host')
    const target = requestTarget?.(c)
    if (target !== undefined && hasDotSegment(target)) return dotSegmentRefusal(target)
    await next()
  })

  // Liveness: the process answers. `status` says whether it is degraded (for example, Redis is unreachable).
  app.get('/healthz', (c) => {
    const h = health()
    const body: Record<string, unknown> = { ok: true, status: h.ready ? 'ok' : 'degraded', backend: h.backend }
    if (h.detail !== undefined) body.detail = h.detail
    return c.json(body)
  })

  // Readiness: whether this instance can take members and publishes now.
  app.get('/readyz', (c) => {
    const h = health()
    if (h.ready) return c.json({ ready: true, backend: h.backend })
    return refusalResponse('unavailable', h.detail ?? 'not ready')
  })

  // The page's script and WebSocket URLs are relative to it, so it needs a trailing slash: under a prefix,
  // `/live` redirects to `/live/` (upgrades and door checks there are answered as they are).
  const home = (c: Context): Response | Promise<Response> => {
    if (isJoin(c)) return asksV2(c) ? connectV2(c) : upgrade(c, config.defaultRoom)
    const url = new URL(c.req.url)
    if (!url.pathname.endsWith('/')) return c.redirect(`${url.pathname}/${url.search}`, 308)
    return c.html(chatPage, 200, { 'Content-Security-Policy': PAGE_CSP })
  }
  app.get('/', home)
  app.get('/client/chat.js', (c) => script(c, chatJs))
  app.get('/client/roomcast.js', (c) => script(c, clientJs))
  // The many-rooms page: protocol v2, a room list and who is online, over one connection.
  app.get('/chat/rooms', (c) => c.html(chatRoomsPage, 200, { 'Content-Security-Policy': PAGE_CSP }))
  app.get('/client/chat-rooms.js', (c) => script(c, chatRoomsJs))

  const readAccess = httpAccess('read')
  app.get(
    '/rooms/:room',
    (c, next) => (isJoin(c) ? upgrade(c, c.req.param('room')) : readAccess(c, next)),
    async (c) => c.json(await gateway.stats(c.req.param('room'))),
  )

  // A page of the v2 roster (who is here, by sub), with the same rights as the room's stats.
  app.get('/rooms/:room/presence', readAccess, async (c) => {
    if (gateway.presence === undefined) return refusalResponse('not_found', 'presence rosters are not served here')
    const limit = c.req.query('limit') ?? '100'
    if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000) return refusalResponse('bad_request', '"limit" must be 1 to 1000')
    const cursor = c.req.query('cursor')
    return c.json(await gateway.presence(c.req.param('room'), Number(limit), cursor === '' ? undefined : cursor))
  })

  app.post(
    '/rooms/:room/messages',
    httpAccess('publish'),
    bodyLimit({
      maxSize: config.maxFrameBytes,
      onError: () => refusalResponse('too_large', `body exceeds ${config.maxFrameBytes} bytes`),
    }),
    async (c) => {
      const room = c.req.param('room')
      const key = parseIdempotencyKey(c.req.header('idempotency-key'))
      if (typeof key === 'object') return refusalResponse('bad_request', key.bad)
      const type = (c.req.header('content-type') ?? 'text/plain').split(';')[0]?.trim().toLowerCase() ?? ''
      // Checked before the body is read: `curl -d` sends a form type, and the answer must say which header to send.
      if (FORM_TYPES.has(type)) return refusalResponse('unsupported_type', FORM_REFUSAL)
      if (type !== 'text/plain' && type !== 'application/json')
        return refusalResponse('unsupported_type', `content-type ${type.slice(0, 64)} is not accepted; ${Refusals.unsupported_type.message}`)
      // Once before the body is read, so a refused publish costs no read; again below, where it counts.
      if (gateway.roomLimitReached?.(room)) return refusalResponse('too_many_rooms')
      const text = await c.req.text()
      if (text === '') return refusalResponse('empty_body')
      let kind: 'text' | 'json' = 'text'
      let body = text
      if (type === 'application/json') {
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch {
          return refusalResponse('bad_json')
        }
        if (typeof value === 'string') body = value
        else {
          // The WebSocket path's bound; past it JSON.stringify would overflow the stack on some runtimes.
          if (nestedTooDeeply(text)) return refusalResponse('bad_json', `the JSON is nested more than ${MAX_JSON_DEPTH} levels deep`)
          kind = 'json'
          try {
            body = JSON.stringify(value)
          } catch {
            return refusalResponse('bad_json', 'the JSON cannot be re-serialised')
          }
        }
      }
      // Hashed only when there is a key: a publish without one costs nothing more than before.
      const once: Once | undefined = key === undefined ? undefined : { key: dedupeKey(c.get('publisher'), key), hash: await bodyHash(type, text) }
      // No await between this check and the publish, which opens the room.
      if (gateway.roomLimitReached?.(room)) return refusalResponse('too_many_rooms')
      try {
        const { seq, duplicate, mismatch } = await gateway.publish(room, kind, body, c.get('from'), once)
        if (mismatch) return refusalResponse('idempotency_mismatch')
        return c.json(duplicate ? { seq, duplicate: true } : { seq }, 202)
      } catch (err) {
        // A backend that is down (Redis) is an answer, not a bug: 503, certainly not published; or 504, asked but not confirmed.
        if (err instanceof Unavailable) return refusalResponse('unavailable', err.message || undefined)
        if (err instanceof OutcomeUnknown) return refusalResponse('outcome_unknown')
        throw err
      }
    },
  )

  const adminToken = config.access.adminToken
  if (adminToken !== undefined && gateway.admin !== undefined) mountAdmin(app, { token: adminToken, backend: gateway.admin(health), csp: PAGE_CSP })

  // Mounted with app.route('/live', this), '/' above becomes '/live' and only a wildcard reaches '/live/'.
  app.get('/*', (c, next) => (c.req.path === `${basePath(c)}/` ? home(c) : next()))

  app.notFound((c) => refusalResponse('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`))
  app.onError((err) => {
    // A backend that is down (Redis) is an answer, not a bug: 503, and nothing was published.
    if (err instanceof Unavailable) return refusalResponse('unavailable', err.message || 'room unavailable; try again')
    // The application's message hook refused the publish (or failed in it): its code, nothing published.
    if (err instanceof Rejected) return refusalResponse({ status: err.status, error: err.code, message: err.message })
    ops.log.error('unexpected error', errorFields(err))
    return refusalResponse('internal')
  })
  return app
}
