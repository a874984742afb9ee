/** The standalone Bun server (`bun run adapters/bun/server.ts`): roomcast/bun at the root of its own Bun.serve, and nothing else. */
import type { BunRequest, Server } from 'bun'
import { Ops, createMetricsApp, isDotSegment, listeningLine, logStartup, metricsLine, refusalResponse, scaleOutEnvNames, startup } from '../../src/index.ts'
import { createRoomcast } from './index.ts'

const { config, listen, hooks, fail, listening } = startup(process.env, (code) => process.exit(code))
const { port, hostname } = listen
// Metrics and logs of this instance (METRICS_TOKEN, METRICS_PORT, LOG_FORMAT, LOG_LEVEL); a bad value ends start-up.
// The effective configuration is printed once the server listens: a server that cannot says only why.
const ops = (() => {
  try {
    return Ops.fromEnv(process.env, process.stdout.isTTY === true)
  } catch (err) {
    return fail(err)
  }
})()

// With REDIS_URL or REDIS_CLUSTER_NODES, rooms span every instance (Node, Deno or Bun) sharing that Redis, through
// ioredis as on Node; each entry the log delivers still fans out through Bun's topics. Without, ioredis is never loaded.
const scaleOut = scaleOutEnvNames.some((name) => process.env[name])
const backend = scaleOut ? await import('../redis/index.ts').then((redis) => redis.redisFromEnv(process.env, config, ops)).catch(fail) : undefined
const rc = createRoomcast({ config, backend, hooks, ops })

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
logStartup(ops.log, process.env, config, ops.settings, { port, hostname })
ops.log.startup(listeningLine(hostname, server.port ?? port))

// METRICS_PORT: /metrics on a listener of its own, and not on the main port.
const metricsPort = ops.settings.metricsPort
const metricsServer = metricsPort === undefined ? undefined : listening(() => Bun.serve({ port: metricsPort, hostname, fetch: createMetricsApp(ops).fetch }))
if (metricsServer !== undefined) ops.log.startup(metricsLine(hostname, metricsServer.port ?? 0))

const shutdown = rc.shutdown({
  // Without `true`, stop() only stops accepting; open sockets stay for their close handshakes.
  stopAccepting: () => {
    server.stop()
    metricsServer?.stop()
  },
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
