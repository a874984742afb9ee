// An existing Worker with its own routes, roomcast mounted at /live, and each room in a Durable Object
// of the Worker's own class (ChatRoom, bound as CHAT in wrangler.toml).
import { Hono } from 'hono'
import { getSignedCookie, setSignedCookie } from 'hono/cookie'
import { createRoomcast } from 'roomcast/cloudflare'

const rc = createRoomcast({
  binding: 'CHAT',
  hooks: {
    // Every upgrade and HTTP room request: only a validly signed session cookie gets in, as its name.
    async authorize({ c }) {
      const name = await getSignedCookie(c, c.env.SESSION_SECRET, 'sid')
      if (typeof name !== 'string' || name === '') return { deny: 'no_session', status: 401, message: 'log in first: POST /login' }
      return { sub: name }
    },
    // Every publish, before it gets a seq (this one runs inside the room's Durable Object).
    message({ data }) {
      const text = typeof data === 'string' ? data : JSON.stringify(data)
      if (/spoiler/i.test(text)) return { reject: 'rejected', message: 'no spoilers here' }
    },
  },
})

/** The room Durable Object, under the class name wrangler.toml binds. */
export class ChatRoom extends rc.Room {}

const app = new Hono()

app.get('/api/hello', (c) => c.json({ hello: 'world' }))

// No session store: the cookie carries the name, signed with SESSION_SECRET.
app.post('/login', async (c) => {
  const body = await c.req.json().catch(() => ({}))
  const name = typeof body.name === 'string' ? body.name.trim() : ''
  if (!/^[\w .-]{1,32}$/.test(name)) return c.json({ error: 'bad_name', message: 'name: 1 to 32 letters, digits, spaces, _ . -' }, 400)
  await setSignedCookie(c, 'sid', name, c.env.SESSION_SECRET, { httpOnly: true, sameSite: 'Lax', path: '/' })
  return c.json({ name })
})

// The chat page at /live/, rooms at /live/rooms/:room, health at /live/healthz.
app.route('/live', rc.app)

export default app
