/** The standalone Bun server (`bun run adapters/bun/server.ts`): roomcast/bun at the root of its own Bun.serve, and nothing else. */
import type { BunRequest, Server } from 'bun'
import { isDotSegment, listeningLine, refusalResponse, startup } from '../../src/index.ts'
import { createRoomcast } from './index.ts'

// Bun does not join the Redis scale-out yet: REDIS_URL must fail here, not leave rooms private to this process.
const { config, listen, hooks, listening } = startup(process.env, (code) => process.exit(code), { scaleOut: false })
const { port, hostname } = listen
const rc = createRoomcast({ config, hooks })

// Bun resolves `.` and `..` in request.url before any of our code sees it (`/rooms/..` arrives as `/`), but
// matches `routes` on the target as sent. So the room route sees a room segment the URL parser would resolve
// away, and a request that matched under /rooms/ but whose URL is no longer there had dot segments.
const dotRoom = (req: BunRequest<'/rooms/:room'>) => isDotSegment(req.params.room)
const leftRooms = (req: Request) => !new URL(req.url).pathname.startsWith('/rooms/')
const fetch = (req: Request, server: Server<unknown>) => rc.app.fetch(req, server)

const server = listening(() =>
  Bun.serve({
    port,
    hostname,
    routes: {
      '/rooms/:room': (req, server) => (dotRoom(req) ? refusalResponse('bad_room') : fetch(req, server)),
      '/rooms/:room/messages': (req, server) => (dotRoom(req) ? refusalResponse('bad_room') : fetch(req, server)),
      '/rooms/*': (req, server) => (leftRooms(req) ? refusalResponse('bad_room') : fetch(req, server)),
    },
    fetch,
    websocket: rc.websocket,
  }),
)
console.log(listeningLine(hostname, server.port ?? port))

const shutdown = rc.shutdown({
  // Without `true`, stop() only stops accepting; open sockets stay for their close handshakes.
  stopAccepting: () => void server.stop(),
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
