/** The standalone Bun server (`bun run adapters/bun/server.ts`): roomcast/bun at the root of its own Bun.serve, and nothing else. */
import { listeningLine, readListen } from '../../src/index.ts'
import { createRoomcast } from './index.ts'

const { port, hostname } = readListen(process.env)
const rc = createRoomcast({ env: process.env })

const server = Bun.serve({ port, hostname, fetch: rc.app.fetch, websocket: rc.websocket })
console.log(listeningLine(hostname, server.port ?? port))

const shutdown = rc.shutdown({
  // Without `true`, stop() only stops accepting; open sockets stay for their close handshakes.
  stopAccepting: () => void server.stop(),
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
