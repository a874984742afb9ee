/** Node: @hono/node-server for HTTP, our own ws server for upgrades, so the frame limit is enforced before a payload is buffered. */
import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { WebSocket } from 'ws'
import { WebSocketServer } from 'ws'
import { Hub, SUBPROTOCOL, createApp, gracefulShutdown, hubGateway, listeningLine, startup } from '../src/index.ts'
import type { WrapSocket } from '../src/index.ts'
import { NodeConnection } from './node-sender.ts'
import { RoomcastWebSocket } from './node-socket.ts'
import { handleUpgrades, upgradeWebSocket } from './node-upgrade.ts'
import { redisFromEnv } from './redis/index.ts'

const { config, listen, fail, cannotListen } = startup(process.env, (code) => process.exit(code))
const { port, hostname } = listen

// With REDIS_URL, rooms span every instance sharing that Redis; without it, one process in memory.
const redis = await redisFromEnv(process.env, config).catch(fail)
const hub = new Hub({ config, logs: redis?.logs, statsElsewhere: redis?.statsElsewhere })

const wss = new WebSocketServer({
  noServer: true,
  maxPayload: config.maxFrameBytes,
  // With the core's reason on ws's own 1009 close, which has none.
  WebSocket: RoomcastWebSocket,
  // Compression would cost CPU per recipient and defeat encode-once fan-out.
  perMessageDeflate: false,
  // Echo only our subprotocol; anything else after it (such as a token) is never echoed.
  handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
})

const wrap: WrapSocket = (ctx, alive) => {
  const ws = ctx.raw as WebSocket
  ws.on('pong', alive)
  return new NodeConnection(ws)
}


// getConnInfo reads the client address from the IncomingMessage both HTTP and upgrade requests carry in c.env.
const app = createApp({ config, gateway: hubGateway(hub, upgradeWebSocket, wrap), getConnInfo, health: redis?.health })
// The transport's share of the door: headers over 16 KiB get 431, and a client that has not sent its
// whole request head (an upgrade included) within 10 s gets 408 and is dropped, so slow handshakes
// cannot pile up. Node checks those timeouts only every connectionsCheckingInterval (30 s by default).
const serverOptions = { maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 }
const server = serve({ fetch: app.fetch, port, hostname, serverOptions }, (info) => {
  console.log(listeningLine(hostname, info.port))
})
// Until it listens, an error is why it cannot (port in use, HOST that does not resolve); after, it is not start-up's.
server.once('error', cannotListen)
server.once('listening', () => server.off('error', cannotListen))
handleUpgrades(server as Server, wss, app.fetch)
hub.start()

const shutdown = gracefulShutdown(hub, {
  stopAccepting: () => server.close(),
  openSockets: () => wss.clients.size,
  finish: async () => redis?.close(500),
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
