/** A TCP proxy between a client and a real server, to cut, refuse or stall the network in tests. */
import net from 'node:net'

export interface TcpProxy {
  /** ws://127.0.0.1:PORT */
  ws: string
  port: number
  /** Connections accepted so far (refused ones included). */
  readonly accepted: number
  /** Cut every open connection (both sides see the TCP connection die); `refuse` keeps new ones out too. */
  drop(refuse?: boolean): void
  /** Let new connections through again. */
  restore(): void
  /** Stop forwarding in both directions without closing anything, like a network that went silent. */
  stall(): void
  /**
   * Silently drop what the open connections carry in one direction (`toServer`: the client's frames;
   * `toClient`: the server's) or both, closing nothing: a path broken one way. New connections are not affected.
   */
  cut(direction: Direction): void
  /** Open connections (client side to server side pairs) now. */
  readonly open: number
  /** Send new connections to another port (a load balancer that moved on to another instance). */
  retarget(port: number): void
  close(): Promise<void>
}

/** Which way a cut drops data. */
export type Direction = 'toServer' | 'toClient' | 'both'

interface Pair {
  client: net.Socket
  upstream: net.Socket
  /** Drop what the client sends, what the server sends. */
  cutUp: boolean
  cutDown: boolean
}

/** Start a proxy on an ephemeral port that forwards to `target` (a port on 127.0.0.1). */
export function startProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Pair>()
  let refusing = false
  let stalled = false
  let accepted = 0
  let target = targetPort
  const server = net.createServer((client) => {
    accepted++
    if (refusing) return void client.destroy()
    const upstream = net.connect(target, '127.0.0.1')
    const pair: Pair = { client, upstream, cutUp: false, cutDown: false }
    pairs.add(pair)
    client.on('data', (chunk) => {
      if (!stalled && !pair.cutUp) upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (!stalled && !pair.cutDown) client.write(chunk)
    })
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port
      const proxy: TcpProxy = {
        ws: `ws://127.0.0.1:${port}`,
        port,
        get accepted() {
          return accepted
        },
        get open() {
          return pairs.size
        },
        drop(refuse = false) {
          refusing = refuse
          for (const p of pairs) {
            p.client.resetAndDestroy()
            p.upstream.destroy()
          }
          pairs.clear()
        },
        cut(direction) {
          for (const p of pairs) {
            if (direction !== 'toClient') p.cutUp = true
            if (direction !== 'toServer') p.cutDown = true
          }
        },
        restore() {
          refusing = false
          stalled = false
        },
        stall() {
          stalled = true
        },
        retarget(port) {
          target = port
        },
        close() {
          proxy.drop(true)
          return new Promise((r) => server.close(() => r()))
        },
      }
      resolve(proxy)
    })
  })
}
