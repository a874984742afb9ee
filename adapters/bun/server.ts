/** The standalone Bun server (`bun run adapters/bun/server.ts`): roomcast/bun at the root of its own Bun.serve, and nothing else. */
import { listeningLine, startup } from '../../src/index.ts'
import { createRoomcast } from './index.ts'

// Bun does not join the Redis scale-out yet: REDIS_URL must fail here, not leave rooms private to this process.
const { config, listen, listening } = startup(process.env, (code) => process.exit(code), { scaleOut: false })
const { port, hostname } = listen
const rc = createRoomcast({ config })

const server = listening(() => Bun.serve({ port, hostname, fetch: rc.app.fetch, websocket: rc.websocket }))
console.log(listeningLine(hostname, server.port ?? port))

const shutdown = rc.shutdown({
  // Without `true`, stop() only stops accepting; open sockets stay for their close handshakes.
  stopAccepting: () => void server.stop(),
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
