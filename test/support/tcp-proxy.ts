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
  /** Send new connections to another port (a load balancer that moved on to another instance). */
  retarget(port: number): void
  close(): Promise<void>
}

/** Start a proxy on an ephemeral port that forwards to `target` (a port on 127.0.0.1). */
export function startProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>()
  let refusing = false
  let stalled = false
  let accepted = 0
  let target = targetPort
  const server = net.createServer((client) => {
    accepted++
    if (refusing) return void client.destroy()
    const upstream = net.connect(target, '127.0.0.1')
    const pair: [net.Socket, net.Socket] = [client, upstream]
    pairs.add(pair)
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (!stalled) to.write(chunk)
      })
    forward(client, upstream)
    forward(upstream, client)
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
        drop(refuse = false) {
          refusing = refuse
          for (const [a, b] of pairs) {
            a.resetAndDestroy()
            b.destroy()
          }
          pairs.clear()
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
