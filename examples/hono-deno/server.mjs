// An existing Hono app on Deno.serve, with roomcast mounted at /live behind the app's own sessions.
import { Hono } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { createRoomcast } from 'roomcast/deno'

// The app's sessions: sid -> name. In memory, as a stand-in for the app's own store.
const sessions = new Map()

const app = new Hono()

app.get('/api/hello', (c) => c.json({ hello: 'world' }))

app.post('/login', async (c) => {
  const body = await c.req.json().catch(() => ({}))
  const name = typeof body.name === 'string' ? body.name.trim() : ''
  if (!/^[\w .-]{1,32}$/.test(name)) return c.json({ error: 'bad_name', message: 'name: 1 to 32 letters, digits, spaces, _ . -' }, 400)
  const sid = crypto.randomUUID()
  sessions.set(sid, name)
  setCookie(c, 'sid', sid, { httpOnly: true, sameSite: 'Lax', path: '/' })
  return c.json({ name })
})

const rc = createRoomcast({
  env: Deno.env.toObject(),
  hooks: {
    // Every upgrade and HTTP room request: only a live session gets in, as its name.
    authorize({ c }) {
      const name = sessions.get(getCookie(c, 'sid') ?? '')
      if (name === undefined) return { deny: 'no_session', status: 401, message: 'log in first: POST /login' }
      return { sub: name }
    },
    // Every publish, before it gets a seq: the app's own rule, with the app's own code.
    message({ data }) {
      const text = typeof data === 'string' ? data : JSON.stringify(data)
      if (/spoiler/i.test(text)) return { reject: 'rejected', message: 'no spoilers here' }
    },
  },
})

// The chat page at /live/, rooms at /live/rooms/:room, health at /live/healthz.
app.route('/live', rc.app)

const server = Deno.serve(
  {
    port: Number(Deno.env.get('PORT') ?? 3000),
    hostname: Deno.env.get('HOST') ?? '0.0.0.0',
    onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}`),
  },
  // Upgrades are requests like any other: roomcast answers them inside the app.
  app.fetch,
)

// Deno.serve cannot stop accepting without closing the open sockets, so roomcast's close frames go first.
const shutdown = rc.shutdown({ finish: () => server.shutdown(), exit: (code) => Deno.exit(code) })
Deno.addSignalListener('SIGTERM', () => shutdown('SIGTERM'))
Deno.addSignalListener('SIGINT', () => shutdown('SIGINT'))
