/** The Hono app: routes, upgrade wiring, HTTP publish, stats and the chat page. The same on every runtime. */

import type { Context, MiddlewareHandler } from 'hono'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { GetConnInfo } from 'hono/conninfo'
import { basePath } from 'hono/route'
import type { Grant } from '../access/credentials.ts'
import { MAX_SUB_LENGTH, bearer, tokenFromProtocols } from '../access/credentials.ts'
import { Door, isRefusal } from '../access/door.ts'
import { chatJs, clientJs } from '../client/bundle.gen.ts'
import { chatPage } from '../client/chat-page.ts'
import type { Config } from '../config/config.ts'
import type { AuthorizeRequest, AuthorizeResult, Hooks, Identity } from '../hooks/hooks.ts'
import { Rejected, isDenial } from '../hooks/hooks.ts'
import { Unavailable } from '../log/room-log.ts'
import type { JoinRequest } from '../room/connection.ts'
import { WEBSOCKET_VERSION, handshakeProblem, isValidHost } from '../wire/handshake.ts'
import { parseJoinQuery } from '../wire/join.ts'
import { isRoomName } from '../wire/names.ts'
import { Refusals, refusalResponse } from '../wire/refusals.ts'
import type { RoomGateway } from './gateway.ts'

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

function isUpgrade(c: Context): boolean {
  return c.req.header('upgrade')?.toLowerCase() === 'websocket'
}

/** An upgrade, or a door check of one (`?check`). */
function isJoin(c: Context): boolean {
  return isUpgrade(c) || c.req.query('check') !== undefined
}

const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data'])
const FORM_REFUSAL = "a form body is not a message (curl -d sends one); send -H 'content-type: text/plain' or -H 'content-type: application/json'"

/** Per-request values: the authenticated publisher, shown as `from`. */
export type AppEnv = { Variables: { from: string | undefined } }

/** What `authorize` decided: an identity (possibly none), or the response that refuses. */
type Authorized = { identity: Identity } | { refused: Response }

/** Run the application's `authorize` hook; a hook that throws or names a bad `sub` refuses with 500 `hook_failed`. */
async function authorizeWith(hook: NonNullable<Hooks['authorize']>, req: AuthorizeRequest): Promise<Authorized> {
  let r: AuthorizeResult
  try {
    r = await hook(req)
  } catch (err) {
    console.error('roomcast: authorize hook:', err)
    return { refused: refusalResponse('hook_failed', "the application's authorize hook failed") }
  }
  if (isDenial(r)) return { refused: refusalResponse({ status: r.status ?? 403, error: r.deny, message: r.message ?? 'refused by the application' }) }
  const identity: Identity = r ?? {}
  const { sub } = identity
  if (sub !== undefined && (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH)) {
    console.error(`roomcast: authorize hook returned a "sub" that is not a string of 1 to ${MAX_SUB_LENGTH} characters`)
    return { refused: refusalResponse('hook_failed', "the application's authorize hook returned a bad identity") }
  }
  return { identity }
}

/** The grant with the identity `authorize` gave laid over it. */
function withIdentity(grant: Grant | undefined, identity: Identity): { sub?: string; pub?: boolean; exp?: number } {
  return { sub: identity.sub ?? grant?.sub, pub: identity.canPublish ?? grant?.pub, exp: grant?.exp }
}

/** Build the app over a gateway. */
export function createApp({ config, gateway, getConnInfo, health = () => ALWAYS_READY, hooks = {} }: AppOptions): Hono<AppEnv> {
  const authorize = hooks.authorize
  const app = new Hono<AppEnv>()
  const door = new Door(config)
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
  const upgrade = async (c: Context, room: string): Promise<Response> => {
    const throttled = door.throttle(clientIp(c))
    if (throttled !== null) return refusalResponse(throttled)
    // Before anything is created: a request the runtime would not upgrade must not open a room. (A door
    // check is a plain GET, not a handshake: it has no handshake headers to check.)
    const bad = isUpgrade(c) ? handshakeProblem(c.req.raw.headers) : null
    if (bad !== null) {
      if (bad.status !== 426) return refusalResponse('bad_request', bad.message)
      const res = refusalResponse('unsupported_version', bad.message)
      res.headers.set('Sec-WebSocket-Version', WEBSOCKET_VERSION)
      return res
    }
    const badOrigin = door.checkOrigin(c.req.header('origin'))
    if (badOrigin !== null) return refusalResponse(badOrigin)
    if (!isRoomName(room)) return refusalResponse('bad_room')
    const join = parseJoin(c)
    if (typeof join === 'string') return refusalResponse('bad_request', join)
    const token = c.req.query('token') ?? tokenFromProtocols(c.req.header('sec-websocket-protocol')) ?? bearer(c.req.header('authorization'))
    const admitted = await door.join(token, room)
    if (isRefusal(admitted)) return refusalResponse(admitted)
    let grant: { sub?: string; pub?: boolean; exp?: number } | undefined = admitted.grant
    if (authorize !== undefined) {
      const r = await authorizeWith(authorize, { request: c.req.raw, c, room, action: 'join', grant: admitted.grant })
      if ('refused' in r) return r.refused
      grant = withIdentity(admitted.grant, r.identity)
    }
    if (grant !== undefined) {
      const { sub, pub, exp } = grant
      if (sub !== undefined) join.from = sub
      join.canPublish = pub
      join.exp = exp
    }
    const h = health()
    // A member could neither get its welcome nor publish; send it to an instance that is ready.
    if (!h.ready) return refusalResponse('unavailable', h.detail)
    if (gateway.connections !== undefined && gateway.connections() >= config.maxConnections) {
      return refusalResponse('server_full')
    }
    if (await gateway.isFull(room)) return refusalResponse('room_full')
    if (!isUpgrade(c)) return c.body(null, 204)
    return gateway.upgrade(c, room, join)
  }

  /** Origin, room name and the bearer credential of an HTTP request for `right` on `:room`. */
  const httpAccess =
    (right: 'read' | 'publish'): MiddlewareHandler<AppEnv> =>
    async (c, next) => {
      const badOrigin = door.checkOrigin(c.req.header('origin'))
      if (badOrigin !== null) return refusalResponse(badOrigin)
      const room = c.req.param('room') ?? ''
      if (!isRoomName(room)) return refusalResponse('bad_room')
      const admitted = await door.http(bearer(c.req.header('authorization')), room, right)
      if (isRefusal(admitted)) return refusalResponse(admitted)
      let sub = admitted.grant?.sub
      if (authorize !== undefined) {
        const r = await authorizeWith(authorize, { request: c.req.raw, c, room, action: right, grant: admitted.grant })
        if ('refused' in r) return r.refused
        if (right === 'publish' && r.identity.canPublish === false) return refusalResponse('forbidden', 'this identity may not publish')
        sub = r.identity.sub ?? sub
      }
      c.set('from', sub)
      await next()
    }

  // RFC 9110: a Host that names no host is a bad request. Runtimes disagree on what it does to the URL (Bun
  // leaves it relative, which Hono routes by the wrong path), so it is refused before anything routes.
  app.use(async (c, next) => {
    if (!isValidHost(c.req.header('host'))) return refusalResponse('bad_request', 'the Host header is not a valid host')
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
    if (isJoin(c)) return upgrade(c, config.defaultRoom)
    const url = new URL(c.req.url)
    if (!url.pathname.endsWith('/')) return c.redirect(`${url.pathname}/${url.search}`, 308)
    return c.html(chatPage, 200, { 'Content-Security-Policy': PAGE_CSP })
  }
  app.get('/', home)
  app.get('/client/chat.js', (c) => script(c, chatJs))
  app.get('/client/roomcast.js', (c) => script(c, clientJs))

  const readAccess = httpAccess('read')
  app.get(
    '/rooms/:room',
    (c, next) => (isJoin(c) ? upgrade(c, c.req.param('room')) : readAccess(c, next)),
    async (c) => c.json(await gateway.stats(c.req.param('room'))),
  )

  app.post(
    '/rooms/:room/messages',
    httpAccess('publish'),
    bodyLimit({
      maxSize: config.maxFrameBytes,
      onError: () => refusalResponse('too_large', `body exceeds ${config.maxFrameBytes} bytes`),
    }),
    async (c) => {
      const room = c.req.param('room')
      const type = (c.req.header('content-type') ?? 'text/plain').split(';')[0]?.trim().toLowerCase() ?? ''
      // Checked before the body is read: `curl -d` sends a form type, and the answer must say which header to send.
      if (FORM_TYPES.has(type)) return refusalResponse('unsupported_type', FORM_REFUSAL)
      if (type !== 'text/plain' && type !== 'application/json')
        return refusalResponse('unsupported_type', `content-type ${type.slice(0, 64)} is not accepted; ${Refusals.unsupported_type.message}`)
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
          kind = 'json'
          body = JSON.stringify(value)
        }
      }
      const seq = await gateway.publish(room, kind, body, c.get('from'))
      return c.json({ seq }, 202)
    },
  )

  // Mounted with app.route('/live', this), '/' above becomes '/live' and only a wildcard reaches '/live/'.
  app.get('/*', (c, next) => (c.req.path === `${basePath(c)}/` ? home(c) : next()))

  app.notFound((c) => refusalResponse('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`))
  app.onError((err) => {
    // A backend that is down (Redis) is an answer, not a bug: 503, and nothing was published.
    if (err instanceof Unavailable) return refusalResponse('unavailable', err.message || 'room unavailable; try again')
    // The application's message hook refused the publish (or failed in it): its code, nothing published.
    if (err instanceof Rejected) return refusalResponse({ status: err.status, error: err.code, message: err.message })
    console.error('roomcast:', err)
    return refusalResponse('internal')
  })
  return app
}
