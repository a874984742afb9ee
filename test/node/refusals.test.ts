/**
 * Refused upgrades on Node's transport (adapters/node/upgrade.ts): a client that reads its 400 or 429
 * and never closes its side must not keep a server fd. Counted in the real server process's /proc.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fdsDownTo, openFds } from '../support/fds.ts'
import { present } from '../support/present.ts'
import type { ServerHandle } from '../support/server.ts'
import { spawnServer } from '../support/server.ts'

let server: ServerHandle
beforeAll(async () => {
  server = await spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'] })
})
afterAll(() => server?.stop())

/** An upgrade to an invalid room name; resolves with the socket once the response head has arrived, never ending it. */
function refusedAndKeptOpen(port: number): Promise<{ socket: net.Socket; status: number }> {
  return new Promise((resolve, reject) => {
    // Half-open allowed: the server's FIN does not make this side answer with its own, as with a client that never closes.
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    let got = ''
    socket.once('error', reject)
    socket.on('connect', () =>
      socket.write(
        'GET /rooms/sp%20ace HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    )
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1')
      if (got.includes('\r\n\r\n')) resolve({ socket, status: Number(got.split(' ')[1]) })
    })
  })
}

describe('Node refused upgrades', () => {
  it('releases the server fd of every refused upgrade within a second, though the client never closes', async () => {
    const pid = present(server.proc.pid, 'the server PID')
    const baseline = openFds(pid)
    const n = 300
    const clients: net.Socket[] = []
    try {
      for (let i = 0; i < n; i++) {
        const { socket, status } = await refusedAndKeptOpen(server.port)
        // 400 for the bad room name, 429 once the per-address upgrade limit is reached: refusals both.
        expect([400, 429]).toContain(status)
        clients.push(socket)
      }
      const { fds } = await fdsDownTo(pid, baseline + 5, 3000)
      expect(fds).toBeLessThanOrEqual(baseline + 5)
    } finally {
      for (const s of clients) s.destroy()
    }
  }, 60_000)
})
