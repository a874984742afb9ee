/** The Hono app: routes, upgrade wiring, HTTP publish, stats and the chat page. The same on every runtime. */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { chatPage } from './client/chat-page.ts'
import type { Config } from './config.ts'
import type { JoinRequest } from './connection.ts'
import type { RoomGateway } from './gateway.ts'
import { SUBPROTOCOL, chooseSubprotocol, isRoomName } from './protocol.ts'
import { Unavailable } from './room-log.ts'

export interface AppOptions {
  config: Config
  gateway: RoomGateway
}

/** An HTTP error body: a stable code and a readable message. */
function fail(c: Context, status: 400 | 404 | 413 | 415 | 500 | 503, error: string, message: string): Response {
  if (status === 503) c.header('Retry-After', '5')
  return c.json({ error, message }, status)
}

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

function isUpgrade(c: Context): boolean {
  return c.req.header('upgrade')?.toLowerCase() === 'websocket'
}

/** Build the app over a gateway. */
export function createApp({ config, gateway }: AppOptions): Hono {
  const app = new Hono()

  const upgrade = async (c: Context, room: string): Promise<Response> => {
    const join = parseJoin(c)
    if (typeof join === 'string') return fail(c, 400, 'bad_request', join)
    if (await gateway.isFull(room)) return fail(c, 503, 'room_full', 'room is full; try again later')
    return gateway.upgrade(c, room, join)
  }

  app.get('/healthz', (c) => c.json({ ok: true }))

  app.get('/', (c) => (isUpgrade(c) ? upgrade(c, config.defaultRoom) : c.html(chatPage)))

  app.get('/rooms/:room', async (c) => {
    const room = c.req.param('room')
    if (!isRoomName(room)) return fail(c, 400, 'bad_room', 'room names are 1 to 64 of A-Z a-z 0-9 _ . -')
    if (isUpgrade(c)) return upgrade(c, room)
    return c.json(await gateway.stats(room))
  })

  app.post(
    '/rooms/:room/messages',
    bodyLimit({
      maxSize: config.maxFrameBytes,
      onError: (c) => fail(c, 413, 'too_large', `body exceeds ${config.maxFrameBytes} bytes`),
    }),
    async (c) => {
      const room = c.req.param('room')
      if (!isRoomName(room)) return fail(c, 400, 'bad_room', 'room names are 1 to 64 of A-Z a-z 0-9 _ . -')
      const type = (c.req.header('content-type') ?? 'text/plain').split(';')[0].trim().toLowerCase()
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
      try {
        const seq = await gateway.publish(room, kind, body)
        return c.json({ seq }, 202)
      } catch (err) {
        if (err instanceof Unavailable) return fail(c, 503, 'unavailable', err.message || 'room unavailable; try again')
        throw err
      }
    },
  )

  app.notFound((c) => fail(c, 404, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`))
  app.onError((err, c) => {
    console.error('roomcast:', err)
    return fail(c, 500, 'internal', 'internal error')
  })
  return app
}
