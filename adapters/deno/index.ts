/**
 * `roomcast/deno`: roomcast in a Deno application. Mount `rc.app` in the application's Hono app and
 * serve it with `Deno.serve(app.fetch)`: the upgrade, its subprotocol and the client address all come
 * from the request and the `info` Deno.serve passes to fetch.
 */
import { getConnInfo, upgradeWebSocket } from 'hono/deno'
import type { Roomcast, RoomcastOptions, WrapSocket } from '../../src/index.ts'
import { createHubRoomcast } from '../../src/index.ts'

export type { Roomcast, RoomcastOptions } from '../../src/index.ts'

/** The options of `Deno.upgradeWebSocket` that roomcast sets (declared here, so no Deno types are needed to build). */
interface UpgradeOptions {
  protocol?: string
  idleTimeout?: number
}

/** Build roomcast for Deno: the rooms and the Hono app to mount. */
export function createRoomcast(options: RoomcastOptions = {}): Roomcast {
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
  return createHubRoomcast(options, (config) => {
    const upgradeOptions: UpgradeOptions = {
      // hono/deno passes the first offered subprotocol, which may be a token, and Deno throws when a list
      // is joined by "," without a space (as the ws client does); the gateway names ours in the response.
      protocol: undefined,
      // Deno pings a peer silent for half this many seconds and closes it (1001) when still silent at the end.
      idleTimeout: Math.ceil(config.idleTimeoutMs / 1000),
    }
    return { upgradeWebSocket, wrap, upgradeOptions, getConnInfo, openSockets: () => sockets.size }
  })
}
