/** Bun: Bun.serve with Hono's upgradeWebSocket and websocket handlers from hono/bun. */
import type { Server, ServerWebSocket } from 'bun'
import { getConnInfo, upgradeWebSocket, websocket } from 'hono/bun'
import { Hub, chooseSubprotocol, createApp, gracefulShutdown, hubGateway, listeningLine, startup } from '../src/index.ts'
import type { Connection, Fanout, WrapSocket } from '../src/index.ts'

// Bun does not join the Redis scale-out yet: REDIS_URL must fail here, not leave rooms private to this process.
const { config, listen, listening } = startup(process.env, (code) => process.exit(code), { scaleOut: false })
const { port, hostname } = listen

/** A core Connection that keeps its ServerWebSocket, for the topics below. */
interface BunConnection extends Connection {
  ws: ServerWebSocket<unknown>
}

const OPEN = 1
/** Bytes past MAX_FRAME_BYTES that Bun still reads, so the core, not uWebSockets, closes such a frame. */
const TOO_LARGE_MARGIN = 64 * 1024

// Bun's topics are the rooms' fan-out: one publish per broadcast and mode, and uWebSockets writes it
// to every subscriber, gathering what each socket gets in one loop iteration into one write.
const fanout: Fanout = {
  subscribe: (conn, topic) => void (conn as BunConnection).ws.subscribe(topic),
  // Bun unsubscribes a closed socket by itself, and a closed socket must not be used.
  unsubscribe: (conn, topic) => {
    const { ws } = conn as BunConnection
    if (ws.readyState === OPEN) ws.unsubscribe(topic)
  },
  publish: (topic, data, except) => {
    const ws = (except as BunConnection | undefined)?.ws
    // A socket's publish reaches every subscriber but itself: how a json publisher is left out.
    if (ws !== undefined && ws.readyState === OPEN) ws.publish(topic, data)
    else server.publish(topic, data)
  },
}

const hub = new Hub({ config, fanout })

// Hono's WSContext is a new object for every Bun event; the gateway keeps each member itself instead,
// and this Connection holds the one ServerWebSocket, which is the same for all its events.
const wrap: WrapSocket = (ctx) => {
  const ws = ctx.raw as ServerWebSocket<unknown>
  const conn: BunConnection = {
    ws,
    send: (data) => void ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    // Topic publishes bypass send(), so ask Bun every time rather than only after a send reported backpressure.
    bufferedAmount: () => ws.getBufferedAmount(),
  }
  return conn
}

const app = createApp({ config, gateway: hubGateway(hub, upgradeWebSocket, wrap), getConnInfo })

// Bun echoes the first subprotocol a client offers unless the upgrade names one, and hono/bun does not:
// a token offered beside roomcast.v1 would come back in the handshake. Name ours, or none ('' omits it).
function withSubprotocol(server: Server<unknown>) {
  return {
    // hono/bun's getConnInfo asks the server for the client address, for per-address upgrade limits.
    requestIP: (req: Request) => server.requestIP(req),
    upgrade: (req: Request, options: { data: unknown }) =>
      server.upgrade(req, { ...options, headers: { 'Sec-WebSocket-Protocol': chooseSubprotocol(req.headers.get('sec-websocket-protocol')) ?? '' } }),
  }
}

const server = listening(() =>
  Bun.serve({
    port,
    hostname,
    fetch: (req, server) => app.fetch(req, withSubprotocol(server)),
    websocket: {
      ...websocket,
      // Past this, uWebSockets refuses a frame from its header, before buffering it, but closes with a reason of
      // its own ("Received too big message"). Up to one more default frame's worth, the core sees the frame and
      // closes with its reason (too_large: ...), so a frame just over the limit gets the documented close.
      maxPayloadLength: config.maxFrameBytes + TOO_LARGE_MARGIN,
      // No Bun limit: past it Bun would drop frames silently; the core closes at MAX_BUFFERED_BYTES with 1013.
      backpressureLimit: 0,
      // Bun pings shortly before this many idle seconds (8 at least) and closes a peer that stays silent.
      idleTimeout: Math.min(960, Math.ceil(config.idleTimeoutMs / 1000)),
      sendPings: true,
      // Compression would cost CPU per recipient and defeat encode-once fan-out.
      perMessageDeflate: false,
    },
  }),
)
console.log(listeningLine(hostname, server.port ?? port))
hub.start()

const shutdown = gracefulShutdown(hub, {
  // Without `true`, stop() only stops accepting; open sockets stay for their close handshakes.
  stopAccepting: () => void server.stop(),
  openSockets: () => server.pendingWebSockets,
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
