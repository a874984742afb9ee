/** Bun: Bun.serve with Hono's upgradeWebSocket and websocket handlers from hono/bun. */
import type { Server, ServerWebSocket } from 'bun'
import { getConnInfo, upgradeWebSocket, websocket } from 'hono/bun'
import type { Connection, Fanout, WrapSocket } from '../src/index.ts'
import {
  Hub,
  Ops,
  chooseSubprotocol,
  createApp,
  createMetricsApp,
  gracefulShutdown,
  hubGateway,
  listeningLine,
  logStartup,
  metricsLine,
  readConfig,
  readListen,
} from '../src/index.ts'

const config = readConfig(process.env)
const { port, hostname } = readListen(process.env)
// Metrics and logs of this instance (METRICS_TOKEN, METRICS_PORT, LOG_FORMAT, LOG_LEVEL).
const ops = Ops.fromEnv(process.env, process.stdout.isTTY === true)
logStartup(ops.log, process.env, config, ops.settings, { port, hostname })

/** A core Connection that keeps its ServerWebSocket, for the topics below. */
interface BunConnection extends Connection {
  ws: ServerWebSocket<unknown>
}

const OPEN = 1

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

const hub = new Hub({ config, fanout, ops })

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
    closedBy: bunClosedBy,
  }
  return conn
}

/**
 * Closes uWebSockets makes itself, told apart by their reason: a frame over maxPayloadLength (1009), and a
 * peer that answered no ping within idleTimeout (Bun's liveness, which stands in for the core's sweep).
 */
function bunClosedBy(event: unknown): 'too_large' | 'idle_timeout' | undefined {
  const reason = (event as { reason?: unknown } | undefined)?.reason
  if (reason === 'Received too big message') return 'too_large'
  if (reason === 'WebSocket timed out from inactivity') return 'idle_timeout'
  return undefined
}

const app = createApp({ config, gateway: hubGateway(hub, upgradeWebSocket, wrap), getConnInfo, ops })

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

const server = Bun.serve({
  port,
  hostname,
  fetch: (req, server) => app.fetch(req, withSubprotocol(server)),
  websocket: {
    ...websocket,
    // Oversized frames are refused by uWebSockets from the header (close 1009), before the payload is buffered.
    maxPayloadLength: config.maxFrameBytes,
    // No Bun limit: past it Bun would drop frames silently; the core closes at MAX_BUFFERED_BYTES with 1013.
    backpressureLimit: 0,
    // Bun pings shortly before this many idle seconds (8 at least) and closes a peer that stays silent.
    idleTimeout: Math.min(960, Math.ceil(config.idleTimeoutMs / 1000)),
    sendPings: true,
    // Compression would cost CPU per recipient and defeat encode-once fan-out.
    perMessageDeflate: false,
  },
})
ops.log.startup(listeningLine(hostname, server.port ?? port))
hub.start()

// METRICS_PORT: /metrics on a listener of its own, and not on the main port.
const metricsServer =
  ops.settings.metricsPort === undefined ? undefined : Bun.serve({ port: ops.settings.metricsPort, hostname, fetch: createMetricsApp(ops).fetch })
if (metricsServer !== undefined) ops.log.startup(metricsLine(hostname, metricsServer.port ?? 0))

const shutdown = gracefulShutdown(hub, {
  // Without `true`, stop() only stops accepting; open sockets stay for their close handshakes.
  stopAccepting: () => {
    server.stop()
    metricsServer?.stop()
  },
  openSockets: () => server.pendingWebSockets,
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
