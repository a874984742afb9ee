/** The Hono app: routes, upgrade wiring, HTTP publish, stats and the chat page. The same on every runtime. */
import { Hono } from 'hono'
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { GetConnInfo } from 'hono/conninfo'
import { chatJs, clientJs } from './client/bundle.gen.ts'
import { chatPage } from './client/chat-page.ts'
import type { Config } from './config.ts'
import type { JoinRequest } from './connection.ts'
import { bearer, tokenFromProtocols } from './credentials.ts'
import { Door, isRefusal } from './door.ts'
import type { Refusal } from './door.ts'
import type { RoomGateway } from './gateway.ts'
import { WEBSOCKET_VERSION, handshakeProblem, isValidHost } from './handshake.ts'
import { SUBPROTOCOL, chooseSubprotocol, isRoomName } from './protocol.ts'
import { Unavailable } from './room-log.ts'

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
}

/** What a backend says about itself, for `/healthz` and `/readyz`. */
export interface Health {
  /** Whether rooms can take publishes and new members right now. */
  ready: boolean
  /** Which backend holds sequence and history: "memory", "redis", ... */
  backend: string
  /** Why it is not ready, when it is not. */
  detail?: string
}

const ALWAYS_READY: Health = { ready: true, backend: 'memory' }

/**
 * An HTTP error: a stable code and a readable message in the JSON body, and the
 * code again in `X-Roomcast-Error`, for clients that cannot read the body of a
 * refused upgrade (most WebSocket libraries expose only its status and headers).
 */
function fail(c: Context, status: 400 | 401 | 403 | 404 | 413 | 415 | 426 | 429 | 500 | 503, error: string, message: string, retryAfter = 5): Response {
  if (status === 503 || status === 429) c.header('Retry-After', String(retryAfter))
  if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="roomcast"')
  c.header('X-Roomcast-Error', error)
  return c.json({ error, message }, status)
}

/** The same answer where there is no Hono context: a transport that cannot even make a Request of what it got. */
export function errorResponse(status: 400, error: string, message: string): Response {
  return Response.json({ error, message }, { status, headers: { 'X-Roomcast-Error': error } })
}

const refuse = (c: Context, r: Refusal) => fail(c, r.status, r.error, r.message, r.retryAfter)

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/
const SEQ = /^\d{1,15}$/

/** Read the join request from an upgrade's query and headers; a string is the reason it is bad. */
export function parseJoin(c: Context): JoinRequest | string {
  const offered = chooseSubprotocol(c.req.header('sec-websocket-protocol'))
  const asked = c.req.query('protocol')
  if (asked !== undefined && asked !== SUBPROTOCOL) return `unknown protocol "${asked.slice(0, 32)}"; use ${SUBPROTOCOL}`
  const join: JoinRequest = { mode: offered !== undefined || asked === SUBPROTOCOL ? 'json' : 'raw' }
  const since = c.req.query('since')
  if (since !== undefined) {
    if (!SEQ.test(since)) return '"since" must be a non-negative integer'
    join.since = Number(since)
  }
  const epoch = c.req.query('epoch')
  if (epoch !== undefined) {
    if (!EPOCH.test(epoch)) return '"epoch" must be 1 to 64 of A-Z a-z 0-9 _ -'
    join.epoch = epoch
  }
  return join
}

// The page runs only its own script and talks only to its own host: injected markup could do nothing.
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Serve one of the pre-built browser scripts (src/client/bundle.gen.ts). */
function script(c: Context, js: string): Response {
  return c.body(js, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' })
}

function isUpgrade(c: Context): boolean {
  return c.req.header('upgrade')?.toLowerCase() === 'websocket'
}

/** Per-request values: the authenticated publisher, shown as `from`. */
type AppEnv = { Variables: { from: string | undefined } }

const BAD_ROOM = 'room names are 1 to 64 of A-Z a-z 0-9 _ . -'

/** Build the app over a gateway. */
export function createApp({ config, gateway, getConnInfo, health = () => ALWAYS_READY }: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  const door = new Door(config)
  const clientIp = (c: Context): string | undefined => {
    try {
      return getConnInfo?.(c).remote.address
    } catch {
      return undefined
    }
  }

  // Cheapest checks first, so a flood of bad upgrades costs no token verification.
  const upgrade = async (c: Context, room: string): Promise<Response> => {
    const throttled = door.throttle(clientIp(c))
    if (throttled !== null) return refuse(c, throttled)
    // Before anything is created: a request the runtime would not upgrade must not open a room.
    const bad = handshakeProblem(c.req.raw.headers)
    if (bad !== null) {
      if (bad.status === 426) c.header('Sec-WebSocket-Version', WEBSOCKET_VERSION)
      return fail(c, bad.status, 'bad_request', bad.message)
    }
    const badOrigin = door.checkOrigin(c.req.header('origin'))
    if (badOrigin !== null) return refuse(c, badOrigin)
    if (!isRoomName(room)) return fail(c, 400, 'bad_room', BAD_ROOM)
    const join = parseJoin(c)
    if (typeof join === 'string') return fail(c, 400, 'bad_request', join)
    const admitted = await door.join(c.req.query('token') ?? tokenFromProtocols(c.req.header('sec-websocket-protocol')), room)
    if (isRefusal(admitted)) return refuse(c, admitted)
    if (admitted.grant !== undefined) {
      const { sub, pub, exp } = admitted.grant
      if (sub !== undefined) join.from = sub
      join.canPublish = pub
      join.exp = exp
    }
    const h = health()
    // A member could neither get its welcome nor publish; send it to an instance that is ready.
    if (!h.ready) return fail(c, 503, 'unavailable', h.detail ?? 'not ready; try again')
    if (gateway.connections !== undefined && gateway.connections() >= config.maxConnections) {
      return fail(c, 503, 'server_full', 'this server is at its connection limit; try again later')
    }
    if (await gateway.isFull(room)) return fail(c, 503, 'room_full', 'room is full; try again later')
    return gateway.upgrade(c, room, join)
  }

  /** Origin, room name and the bearer credential of an HTTP request for `right` on `:room`. */
  const httpAccess =
    (right: 'read' | 'publish'): MiddlewareHandler<AppEnv> =>
    async (c, next) => {
      const badOrigin = door.checkOrigin(c.req.header('origin'))
      if (badOrigin !== null) return refuse(c, badOrigin)
      const room = c.req.param('room') ?? ''
      if (!isRoomName(room)) return fail(c, 400, 'bad_room', BAD_ROOM)
      const admitted = await door.http(bearer(c.req.header('authorization')), room, right)
      if (isRefusal(admitted)) return refuse(c, admitted)
      c.set('from', admitted.grant?.sub)
      await next()
    }

  // RFC 9110: a Host that names no host is a bad request. Runtimes disagree on what it does to the URL (Bun
  // leaves it relative, which Hono routes by the wrong path), so it is refused before anything routes.
  app.use(async (c, next) => {
    if (!isValidHost(c.req.header('host'))) return fail(c, 400, 'bad_request', 'the Host header is not a valid host')
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
    return fail(c, 503, 'unavailable', h.detail ?? 'not ready')
  })

  app.get('/', (c) => (isUpgrade(c) ? upgrade(c, config.defaultRoom) : c.html(chatPage, 200, { 'Content-Security-Policy': PAGE_CSP })))
  app.get('/client/chat.js', (c) => script(c, chatJs))
  app.get('/client/roomcast.js', (c) => script(c, clientJs))

  const readAccess = httpAccess('read')
  app.get(
    '/rooms/:room',
    (c, next) => (isUpgrade(c) ? upgrade(c, c.req.param('room')) : readAccess(c, next)),
    async (c) => c.json(await gateway.stats(c.req.param('room'))),
  )

  app.post(
    '/rooms/:room/messages',
    httpAccess('publish'),
    bodyLimit({
      maxSize: config.maxFrameBytes,
      onError: (c) => fail(c, 413, 'too_large', `body exceeds ${config.maxFrameBytes} bytes`),
    }),
    async (c) => {
      const room = c.req.param('room')
      const type = (c.req.header('content-type') ?? 'text/plain').split(';')[0]?.trim().toLowerCase()
      const text = await c.req.text()
      let kind: 'text' | 'json' = 'text'
      let body = text
      if (type === 'application/json') {
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch {
          return fail(c, 400, 'bad_json', 'body is not valid JSON')
        }
        if (typeof value === 'string') body = value
        else {
          kind = 'json'
          body = JSON.stringify(value)
        }
      } else if (type !== 'text/plain') {
        return fail(c, 415, 'unsupported_type', 'use text/plain or application/json')
      }
      const seq = await gateway.publish(room, kind, body, c.get('from'))
      return c.json({ seq }, 202)
    },
  )

  app.notFound((c) => fail(c, 404, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`))
  app.onError((err, c) => {
    // A backend that is down (Redis) is an answer, not a bug: 503, and nothing was published.
    if (err instanceof Unavailable) return fail(c, 503, 'unavailable', err.message || 'room unavailable; try again')
    console.error('roomcast:', err)
    return fail(c, 500, 'internal', 'internal error')
  })
  return app
}
