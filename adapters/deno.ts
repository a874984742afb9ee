/** Deno: Deno.serve with Hono's upgradeWebSocket from hono/deno. */
import { getConnInfo, upgradeWebSocket } from 'hono/deno'
import { Hub, chooseSubprotocol, createApp, gracefulShutdown, hubGateway, listeningLine, startup } from '../src/index.ts'
import type { WrapSocket } from '../src/index.ts'
import { redisFromEnv } from './redis/index.ts'

const env = Deno.env.toObject()
const { config, listen, fail, listening } = startup(env, (code) => Deno.exit(code))
const { port, hostname } = listen

// With REDIS_URL, rooms span every instance (Node or Deno) sharing that Redis; without it, one process in memory.
const redis = await redisFromEnv(env, config).catch(fail)
const hub = new Hub({ config, logs: redis?.logs, statsElsewhere: redis?.statsElsewhere })

// Open sockets, so shutdown can wait for their close handshakes (Deno.serve keeps no such list).
const sockets = new Set<WebSocket>()

const wrap: WrapSocket = (ctx) => {
  const ws = ctx.raw as WebSocket
  sockets.add(ws)
  ws.addEventListener('close', () => sockets.delete(ws))
  // Deno's server sockets start as "arraybuffer" today, but the standard's default is "blob", which the
  // core cannot read synchronously; say it, so a change of default cannot hand the core a Blob.
  ws.binaryType = 'arraybuffer'
  // No ping: Deno pings by itself (idleTimeout below). No frame cap at the transport: the core checks size.
  return {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    bufferedAmount: () => ws.bufferedAmount,
  }
}

const upgradeOptions: Deno.UpgradeWebSocketOptions = {
  // hono/deno passes the first offered subprotocol, which may be a token, and Deno throws when a list
  // is joined by "," without a space (as the ws client does); we set the header ourselves below.
  protocol: undefined,
  // Deno pings a peer silent for half this many seconds and closes it (1001) when still silent at the end.
  idleTimeout: Math.ceil(config.idleTimeoutMs / 1000),
}


const app = createApp({ config, gateway: hubGateway(hub, upgradeWebSocket, wrap, upgradeOptions), getConnInfo, health: redis?.health })

const serveOptions: Deno.ServeTcpOptions = {
  port,
  hostname,
  onListen: (addr) => {
    console.log(listeningLine(addr.hostname, addr.port))
  },
}
const handler: Deno.ServeHandler<Deno.NetAddr> = async (req, info) => {
  const protocol = chooseSubprotocol(req.headers.get('sec-websocket-protocol'))
  // `info` carries remoteAddr, which hono/deno's getConnInfo reads for per-address upgrade limits.
  const res = await app.fetch(req, info)
  if (res.status === 101 && protocol !== undefined) res.headers.set('Sec-WebSocket-Protocol', protocol)
  return res
}
const server = listening(() => Deno.serve(serveOptions, handler))
hub.start()

// Deno.serve cannot stop accepting without closing open sockets with its own reason, so it is shut down
// only after our 1001 close frames (with the core's reason) have gone out.
const shutdown = gracefulShutdown(hub, {
  openSockets: () => sockets.size,
  finish: () => Promise.all([server.shutdown(), redis?.close(500)]),
  exit: (code) => Deno.exit(code),
})
Deno.addSignalListener('SIGTERM', () => void shutdown('SIGTERM'))
Deno.addSignalListener('SIGINT', () => void shutdown('SIGINT'))
