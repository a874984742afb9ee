/**
 * A Worker for the Cloudflare hook test: `joined` and `left` run in each room's Durable Object and report
 * to the room `events` through the server-side API (`rc.publish`), which a test member listens to; routes of
 * its own call `rc.publish`, `rc.stats` and `rc.disconnect`.
 */
import { Hono } from 'hono'
import { createRoomcast } from '../../../adapters/cloudflare/index.ts'
import type { MemberEvent } from '../../../src/index.ts'

const report = (event: string, e: MemberEvent & { reason?: string }) => {
  if (e.room !== 'events') void rc.publish('events', { event, ...e }).catch((err) => console.error('report', err))
}

const rc = createRoomcast({
  binding: 'ROOMS',
  hooks: {
    authorize({ request }) {
      const user = new URL(request.url).searchParams.get('user')
      return user === null ? undefined : { sub: user, info: { team: 'blue' } }
    },
    joined: (e) => report('joined', e),
    left: (e) => report('left', e),
  },
})

/** The room Durable Object, under the class name this test's wrangler.toml declares. */
export class RoomObject extends rc.Room {}

const app = new Hono()
app.post('/app/publish/:room', async (c) => c.json({ seq: await rc.publish(c.req.param('room'), await c.req.json(), { from: 'server' }) }))
app.get('/app/stats/:room', async (c) => c.json(await rc.stats(c.req.param('room'))))
app.post('/app/disconnect/:room', async (c) => c.json({ closed: await rc.disconnect(c.req.param('room'), { sub: c.req.query('sub') ?? '' }) }))
app.route('/', rc.app)
export default app
