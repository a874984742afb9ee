/**
 * WebSocket upgrades for Hono on Node, over our own ws server. It stands in for
 * @hono/node-server's helper because that one keeps the upgrade request's whole
 * Hono context (request, headers, URL, the IncomingMessage) alive for the life
 * of every socket, about 8 KiB each, and builds a MessageEvent per frame. Here
 * a connection holds only its ws socket, a WSContext and the core's handlers.
 */
import type { IncomingMessage, Server } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { UpgradeWebSocket, WSContextInit, WSEvents } from 'hono/ws'
import { WSContext, defineWebSocketHelper } from 'hono/ws'
import type { WebSocket, WebSocketServer } from 'ws'
import { isValidHost, refusalResponse } from '../../src/index.ts'

const EVENTS = Symbol('roomcast.wsEvents')

/** The `c.env` of an upgrade request: the handler leaves its socket events there when it accepts. */
interface UpgradeEnv {
  incoming: IncomingMessage
  [EVENTS]?: WSEvents<WebSocket>
}

/** Hono's `upgradeWebSocket` for Node; pair it with `handleUpgrades`. */
export const upgradeWebSocket: UpgradeWebSocket<WebSocket> = defineWebSocketHelper<WebSocket>((c, events) => {
  const env = c.env as UpgradeEnv | undefined
  if (env?.incoming === undefined || c.req.header('upgrade')?.toLowerCase() !== 'websocket') return
  env[EVENTS] = events
  return new Response(null)
})

type Fetch = (request: Request, env: UpgradeEnv) => Response | Promise<Response>

// Hop-by-hop and handshake headers that ws writes itself.
const SKIP = new Set([
  'connection',
  'content-length',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'sec-websocket-accept',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
])

/** Route every upgrade request on `server` through `fetch` (the Hono app); accepted ones become ws sockets. */
export function handleUpgrades(server: Server, wss: WebSocketServer, fetch: Fetch): void {
  server.on('upgrade', async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const ignore = () => {}
    socket.on('error', ignore)
    const env: UpgradeEnv = { incoming: req }
    const request = toRequest(req)
    if (request === null) return refuse(socket, refusalResponse('bad_request', 'the request target is not a path or an http(s) URL'))
    let res: Response
    try {
      res = await fetch(request, env)
    } catch {
      return refuse(socket, new Response(null, { status: 500 }))
    }
    const events = env[EVENTS]
    if (events === undefined) return refuse(socket, res)
    if (socket.destroyed) return
    const addHeaders = (headers: string[]) => res.headers.forEach((v, k) => void (SKIP.has(k) || headers.push(`${k}: ${v}`)))
    wss.on('headers', addHeaders)
    try {
      wss.handleUpgrade(req, socket, head, (ws) => {
        socket.off('error', ignore)
        open(ws, events)
      })
    } finally {
      wss.off('headers', addHeaders)
    }
  })
}

const LINK = Symbol('roomcast.link')

/** A ws socket that knows its handlers, so one set of listener functions serves every socket. */
type Linked = WebSocket & { [LINK]: Link }

/** A socket's handlers and Hono context, and what the context forwards to. A class, so no closures per connection. */
class Link implements WSContextInit<WebSocket> {
  readonly ctx: WSContext<WebSocket>
  constructor(
    readonly raw: WebSocket,
    readonly events: WSEvents<WebSocket>,
  ) {
    this.ctx = new WSContext<WebSocket>(this)
  }
  get readyState(): 0 | 1 | 2 | 3 {
    return this.raw.readyState as 0 | 1 | 2 | 3
  }
  get protocol(): string {
    return this.raw.protocol
  }
  send(data: string | ArrayBuffer | Uint8Array): void {
    this.raw.send(data)
  }
  close(code?: number, reason?: string): void {
    this.raw.close(code, reason)
  }
}

/** Wire a ws socket to the handler's events. */
function open(ws: WebSocket, events: WSEvents<WebSocket>): void {
  const link = new Link(ws, events)
  ;(ws as Linked)[LINK] = link
  events.onOpen?.(new Event('open'), link.ctx)
  ws.on('message', onMessage)
  ws.on('close', onClose)
  ws.on('error', onError)
}

// ws calls listeners with the socket as `this`. The handlers read only `data` (and nothing of the close
// or error event), so plain objects stand in for the events.
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const { events, ctx } = (this as Linked)[LINK]
  // Copy binary: ws may hand a view into a larger read buffer, which history would otherwise keep alive.
  const payload = isBinary ? new Uint8Array(data).buffer : data.toString()
  events.onMessage?.({ data: payload } as MessageEvent, ctx)
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  const { events, ctx } = (this as Linked)[LINK]
  events.onClose?.({ code, reason: reason.toString() } as CloseEvent, ctx)
}

function onError(this: WebSocket, error: Error): void {
  const { events, ctx } = (this as Linked)[LINK]
  events.onError?.({ error } as unknown as Event, ctx)
}

/** A web Request for the upgrade, for the Hono app to route; null when its target cannot make a URL. */
function toRequest(req: IncomingMessage): Request | null {
  const headers = new Headers()
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.append(k, Array.isArray(v) ? v.join(', ') : v)
  const target = req.url ?? '/'
  const host = req.headers.host
  // An absolute-form target (RFC 9112 3.2.2: a server must accept it) is the URL, as on Deno and Bun. A Host
  // a URL cannot hold gets a stand-in here: the header still carries it, and the app refuses it (400).
  const url = target.startsWith('/') ? `http://${host !== undefined && isValidHost(host) ? host : 'localhost'}${target}` : target
  if (!/^https?:\/\//i.test(url)) return null
  try {
    return new Request(url, { headers })
  } catch {
    return null
  }
}

// How long a refused upgrade's response may take to reach the kernel before its socket is destroyed anyway.
const REFUSE_FLUSH_MS = 1000

/** Answer a refused upgrade with the app's status, headers and body, then close. */
async function refuse(socket: Duplex, res: Response): Promise<void> {
  if (socket.destroyed) return
  const body = Buffer.from(await res.arrayBuffer())
  let head = `HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? ''}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n`
  res.headers.forEach((v, k) => {
    if (!SKIP.has(k)) head += `${k}: ${v}\r\n`
  })
  // end() only half-closes, and the server's sockets allow half-open: a client that read the answer and
  // never sends its FIN would hold this fd for good. Destroy once the response is flushed, as ws does,
  // and after a short grace at most, for a client that does not even read it.
  const destroy = () => socket.destroy()
  const timer = setTimeout(destroy, REFUSE_FLUSH_MS)
  socket.once('finish', destroy)
  socket.once('close', () => clearTimeout(timer))
  socket.end(Buffer.concat([Buffer.from(head + '\r\n'), body]))
}
