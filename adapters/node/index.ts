/**
 * `roomcast/node`: roomcast in a Node application on `@hono/node-server`. HTTP goes through the
 * application's own Hono app; upgrades go through the same app (so its middleware and prefix apply)
 * and are handed to our own `ws` server, so the frame limit holds before a payload is buffered.
 */
import type { Server } from 'node:http'
import type { Http2SecureServer, Http2Server } from 'node:http2'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { WebSocket } from 'ws'
import { WebSocketServer } from 'ws'
import type { Roomcast, RoomcastOptions, WrapSocket } from '../../src/index.ts'
import { SUBPROTOCOL, createHubRoomcast } from '../../src/index.ts'
import { NodeConnection } from './sender.ts'
import { RoomcastWebSocket } from './socket.ts'
import { handleUpgrades, upgradeWebSocket } from './upgrade.ts'

export type { Roomcast, RoomcastOptions } from '../../src/index.ts'

/** Something with a Hono-style `fetch`: a Hono app, or its `fetch` itself. */
export type Fetcher = { fetch(request: Request, env: object): Response | Promise<Response> } | ((request: Request, env: object) => Response | Promise<Response>)

/** roomcast on Node. */
export interface NodeRoomcast extends Roomcast {
  /**
   * Take the WebSocket upgrades of `server` (what `serve()` from `@hono/node-server` returned), routing each
   * through `app` (the application's Hono app that mounts `rc.app`; default `rc.app` itself).
   */
  attach(server: Server | Http2Server | Http2SecureServer | { on: Server['on'] }, app?: Fetcher): void
}

/**
 * `serverOptions` for `serve()`: the transport's share of the door. Headers over 16 KiB get 431, and a
 * client that has not sent its whole request head (an upgrade included) within 10 s gets 408 and is
 * dropped, so slow handshakes cannot pile up. Node checks those timeouts only every
 * connectionsCheckingInterval (30 s by default).
 */
export const serverOptions = { maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 }

/** Build roomcast for Node: the rooms, the Hono app to mount, and `attach` for the server's upgrades. */
export function createRoomcast(options: RoomcastOptions = {}): NodeRoomcast {
  let wss: WebSocketServer | undefined
  const wrap: WrapSocket = (ctx, alive) => {
    const ws = ctx.raw as WebSocket
    ws.on('pong', alive)
    return new NodeConnection(ws)
  }
  const rc = createHubRoomcast(options, (config) => {
    wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.maxFrameBytes,
      // With the core's reason on ws's own 1009 close, which has none.
      WebSocket: RoomcastWebSocket,
      // Compression would cost CPU per recipient and defeat encode-once fan-out.
      perMessageDeflate: false,
      // Echo only our subprotocol; anything else after it (such as a token) is never echoed.
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    })
    // getConnInfo reads the client address from the IncomingMessage both HTTP and upgrade requests carry in c.env.
    return { upgradeWebSocket, wrap, getConnInfo, openSockets: () => wss?.clients.size ?? 0 }
  })
  const sockets = wss as WebSocketServer
  return {
    ...rc,
    attach(server, app = rc.app) {
      const fetch = typeof app === 'function' ? app : app.fetch.bind(app)
      handleUpgrades(server as Server, sockets, fetch)
    },
  }
}
