/**
 * The admin API and the dashboard (docs/admin.md), mounted on the app only
 * when ADMIN_TOKEN is set: without it every /admin route is a 404. The page
 * itself loads without the token (it asks for it); every API route wants it
 * as a bearer, and a missing or wrong one is a 401.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { bearer } from '../access/credentials.ts'
import { safeEqual } from '../access/door.ts'
import type { AdminBackend, DisconnectRequest } from '../admin/admin.ts'
import { DEFAULT_MEMBER_LIMIT, DEFAULT_ROOM_LIMIT, MAX_MEMBER_LIMIT, MAX_ROOM_LIMIT } from '../admin/admin.ts'
import { decodeCursor } from '../admin/cursor.ts'
import { dashboardJs } from '../client/bundle.gen.ts'
import { dashboardPage } from '../client/dashboard-page.ts'
import type { ErrorCode } from '../wire/errors.ts'
import { Errors } from '../wire/errors.ts'
import { isRoomName } from '../wire/names.ts'
import { refusalResponse } from '../wire/refusals.ts'

export interface AdminRouteOptions {
  /** ADMIN_TOKEN. */
  token: string
  backend: AdminBackend
  /** The page's Content-Security-Policy (the chat page's: its own script and host only). */
  csp: string
}

/** The largest disconnect body read; `{"sub","connectionId","code"}` fits many times over. */
const MAX_BODY_BYTES = 4096
const FILTER_KEYS = new Set(['sub', 'connectionId', 'code'])

/** Mount /admin, /admin/* and the dashboard's script on `app`. */
// biome-ignore lint/suspicious/noExplicitAny: mounted on the app whatever its Env
export function mountAdmin(app: Hono<any>, { token, backend, csp }: AdminRouteOptions): void {
  const auth: MiddlewareHandler = async (c, next) => {
    const credential = bearer(c.req.header('authorization'))
    if (credential === undefined) return refusalResponse('unauthorized', 'send Authorization: Bearer <ADMIN_TOKEN>')
    if (!safeEqual(credential, token)) return refusalResponse('unauthorized', 'wrong admin token')
    await next()
  }
  const room: MiddlewareHandler = async (c, next) => {
    if (!isRoomName(c.req.param('room') ?? '')) return refusalResponse('bad_room')
    await next()
  }

  app.get('/admin', (c) => c.html(dashboardPage, 200, { 'Content-Security-Policy': csp, 'Cache-Control': 'no-cache' }))
  app.get('/client/dashboard.js', (c) => c.body(dashboardJs, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' }))

  app.get('/admin/stats', auth, async (c) => c.json(await backend.stats(), 200, NO_STORE))

  app.get('/admin/rooms', auth, async (c) => {
    const limit = readLimit(c, DEFAULT_ROOM_LIMIT, MAX_ROOM_LIMIT)
    if (typeof limit === 'string') return refusalResponse('bad_request', limit)
    const cursor = c.req.query('cursor')
    let after: string | undefined
    if (cursor !== undefined && cursor !== '') {
      const decoded = decodeCursor(cursor)
      if (decoded === null) return refusalResponse('bad_request', 'cursor is not one this server gave out')
      after = decoded
    }
    return c.json(await backend.rooms(limit, after), 200, NO_STORE)
  })

  app.get('/admin/rooms/:room', auth, room, async (c) => {
    const limit = readLimit(c, DEFAULT_MEMBER_LIMIT, MAX_MEMBER_LIMIT)
    if (typeof limit === 'string') return refusalResponse('bad_request', limit)
    return c.json(await backend.room(c.req.param('room'), limit), 200, NO_STORE)
  })

  app.post(
    '/admin/rooms/:room/disconnect',
    auth,
    room,
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => refusalResponse('too_large', `body exceeds ${MAX_BODY_BYTES} bytes`) }),
    async (c) => {
      const request = readDisconnect(await c.req.text())
      if (typeof request === 'string') return refusalResponse('bad_request', request)
      return c.json({ disconnected: await backend.disconnect(c.req.param('room'), request) })
    },
  )

  app.delete('/admin/rooms/:room/history', auth, room, async (c) => {
    const name = c.req.param('room')
    return c.json({ room: name, seq: await backend.clearHistory(name), cleared: true })
  })
}

const NO_STORE = { 'Cache-Control': 'no-store' }

/** `?limit=`: a positive integer, at most `max` (larger is taken as `max`); a string says what is wrong. */
function readLimit(c: Context, fallback: number, max: number): number | string {
  const raw = c.req.query('limit')
  if (raw === undefined || raw === '') return fallback
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) return `limit must be a positive integer (at most ${max})`
  return Math.min(Number(raw), max)
}

/** The disconnect body: empty (everyone), or a JSON object of `sub`, `connectionId` and `code`; a string says what is wrong. */
export function readDisconnect(text: string): DisconnectRequest | string {
  const request: DisconnectRequest = { code: 'kicked' }
  if (text.trim() === '') return request
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return 'the body is not JSON; send {"sub"?,"connectionId"?,"code"?} or nothing'
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object: {"sub"?,"connectionId"?,"code"?}'
  // A misspelt filter must not widen to everyone: unknown fields are refused.
  for (const key of Object.keys(body))
    if (!FILTER_KEYS.has(key)) return `unknown field ${JSON.stringify(key).slice(0, 40)}; the fields are sub, connectionId and code`
  const { sub, connectionId, code } = body as Record<string, unknown>
  if (sub !== undefined) {
    if (typeof sub !== 'string' || sub === '') return 'sub must be a non-empty string'
    request.sub = sub
  }
  if (connectionId !== undefined) {
    if (typeof connectionId !== 'string' || connectionId === '') return 'connectionId must be a non-empty string'
    request.connectionId = connectionId
  }
  if (code !== undefined) {
    if (typeof code !== 'string' || !isClosingCode(code)) return `code must be an error code that closes a connection: ${CLOSING_CODES.join(', ')}`
    request.code = code
  }
  return request
}

/** The codes of the Errors table that close a connection (the others only answer a frame). */
const CLOSING_CODES = (Object.keys(Errors) as ErrorCode[]).filter((code) => Errors[code].close !== null)

function isClosingCode(code: string): code is ErrorCode {
  return (CLOSING_CODES as string[]).includes(code)
}
