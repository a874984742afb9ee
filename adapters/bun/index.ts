/**
 * `roomcast/bun`: roomcast in a Bun application. Mount `rc.app` in the application's Hono app and
 * serve it with `Bun.serve({ fetch: app.fetch, websocket: rc.websocket })`. Rooms fan out through
 * Bun's topics: one publish per broadcast and mode, which uWebSockets writes to every subscriber.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from 'bun'
import { getBunServer, getConnInfo, websocket as honoWebsocket } from 'hono/bun'
import type { UpgradeWebSocket, WSEvents } from 'hono/ws'
import { defineWebSocketHelper } from 'hono/ws'
import type { Connection, Fanout, Roomcast, RoomcastOptions, WrapSocket } from '../../src/index.ts'
import { chooseSubprotocol, createHubRoomcast } from '../../src/index.ts'

export type { Roomcast, RoomcastOptions } from '../../src/index.ts'

/** What each of roomcast's sockets carries, as hono/bun's websocket handler expects it. */
export interface SocketData {
  events: WSEvents<ServerWebSocket<SocketData>>
  url: URL
  protocol: string
}

/** roomcast on Bun. */
export interface BunRoomcast extends Roomcast {
  /** Bun.serve's `websocket` option: the socket events, and the limits roomcast's rooms rely on. */
  readonly websocket: WebSocketHandler<SocketData>
}

/** A core Connection that keeps its ServerWebSocket, for the topics below. */
interface BunConnection extends Connection {
  ws: ServerWebSocket<SocketData>
}

const OPEN = 1
/** Bytes past MAX_FRAME_BYTES that Bun still reads, so the core, not uWebSockets, closes such a frame. */
const TOO_LARGE_MARGIN = 64 * 1024

/** Build roomcast for Bun: the rooms, the Hono app to mount, and the `websocket` handler for Bun.serve. */
export function createRoomcast(options: RoomcastOptions = {}): BunRoomcast {
  // The server, from the first upgrade's fetch: what a publish with no socket to publish from goes through
  // (a socket cannot subscribe before it has upgraded, so nobody misses a publish made before then).
  let server: Server<SocketData> | undefined
  const open = new Set<ServerWebSocket<SocketData>>()

  // Bun echoes the first subprotocol a client offers unless the upgrade names one, and hono/bun's helper
  // does not: a token offered beside roomcast.v1 would come back in the handshake. Name ours, or none.
  const upgradeWebSocket: UpgradeWebSocket<ServerWebSocket<SocketData>> = defineWebSocketHelper((c, events) => {
    const s = getBunServer<Server<SocketData>>(c)
    if (s === undefined || typeof s.upgrade !== 'function') throw new TypeError('roomcast/bun: pass the server to fetch (Bun.serve({ fetch: app.fetch }))')
    server = s
    const offered = c.req.header('sec-websocket-protocol')
    const protocol = chooseSubprotocol(offered) ?? ''
    const data: SocketData = { events, url: new URL(c.req.url), protocol }
    // '' omits the header.
    if (s.upgrade(c.req.raw, { data, headers: { 'Sec-WebSocket-Protocol': protocol } })) return new Response(null)
  })

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
      else server?.publish(topic, data)
    },
  }

  // Hono's WSContext is a new object for every Bun event; the gateway keeps each member itself instead,
  // and this Connection holds the one ServerWebSocket, which is the same for all its events.
  const wrap: WrapSocket = (ctx) => {
    const ws = ctx.raw as ServerWebSocket<SocketData>
    open.add(ws)
    const conn: BunConnection = {
      ws,
      send: (data) => void ws.send(data),
      close: (code, reason) => ws.close(code, reason),
      // Topic publishes bypass send(), so ask Bun every time rather than only after a send reported backpressure.
      bufferedAmount: () => ws.getBufferedAmount(),
    }
    return conn
  }

  const rc = createHubRoomcast(options, () => ({ upgradeWebSocket, wrap, fanout, getConnInfo, openSockets: () => open.size }))
  const { config } = rc
  const handlers = honoWebsocket as unknown as WebSocketHandler<SocketData>
  const websocket: WebSocketHandler<SocketData> = {
    ...handlers,
    close(ws, code, reason) {
      open.delete(ws)
      return handlers.close?.(ws, code, reason)
    },
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
  }
  return { ...rc, websocket }
}
