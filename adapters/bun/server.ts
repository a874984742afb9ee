/** The standalone Bun server (`bun run adapters/bun/server.ts`): roomcast/bun at the root of its own Bun.serve, and nothing else. */
import { listeningLine, scaleOutEnvNames, startup } from '../../src/index.ts'
import { createRoomcast } from './index.ts'

const { config, listen, fail, listening } = startup(process.env, (code) => process.exit(code))
const { port, hostname } = listen

// With REDIS_URL or REDIS_CLUSTER_NODES, rooms span every instance (Node, Deno or Bun) sharing that Redis, through
// ioredis as on Node; each entry the log delivers still fans out through Bun's topics. Without, ioredis is never loaded.
const scaleOut = scaleOutEnvNames.some((name) => process.env[name])
const backend = scaleOut ? await import('../redis/index.ts').then((redis) => redis.redisFromEnv(process.env, config)).catch(fail) : undefined
const rc = createRoomcast({ config, backend })

const server = listening(() => Bun.serve({ port, hostname, fetch: rc.app.fetch, websocket: rc.websocket }))
console.log(listeningLine(hostname, server.port ?? port))

const shutdown = rc.shutdown({
  // Without `true`, stop() only stops accepting; open sockets stay for their close handshakes.
  stopAccepting: () => void server.stop(),
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
