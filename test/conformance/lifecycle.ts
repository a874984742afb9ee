/** Connections that vanish, and servers that stop. */
import { expect, it } from 'vitest'
import { connect, connectJson, sleep, uniqueRoom, waitForConnections } from '../support/client.ts'
import { handshake, readFrames } from '../support/raw-socket.ts'
import type { SuiteContext } from './suite.ts'

export function lifecycleScenarios(ctx: SuiteContext): void {
  it.runIf(ctx.target.caps.idleLiveness)('closes a connection that stops answering pings, so counts return to 0', async () => {
    const room = uniqueRoom()
    const socket = await handshake(ctx.server.port, `/rooms/${room}`)
    const stats = async () => (await fetch(`${ctx.server.http}/rooms/${room}`)).json()
    expect((await stats()).connections).toBe(1)
    const idle = Number(ctx.env.IDLE_TIMEOUT_MS)
    await waitForConnections(ctx.server.http, room, 0, idle * 4 + 5000, 200)
    expect((await stats()).connections).toBe(0)
    socket.destroy()
  }, 60000)

  // A peer that stopped answering pings will not answer a close frame either: waiting for its half of the
  // close handshake (ws waits 30 s) would only hold its socket. Its TCP connection must go with the drop.
  it.runIf(ctx.target.caps.idleLiveness)('drops the TCP connection of a peer that stopped answering pings when it drops the member', async () => {
    const room = uniqueRoom()
    const socket = await handshake(ctx.server.port, `/rooms/${room}`)
    socket.on('error', () => {})
    let tcpClosedAt: number | undefined
    socket.once('close', () => (tcpClosedAt = Date.now()))
    // Reads everything (pings, the close frame), answers nothing.
    let closeFrames = 0
    readFrames(socket, (f) => void (f.opcode === 0x8 && closeFrames++))
    const idle = Number(ctx.env.IDLE_TIMEOUT_MS)
    expect(await waitForConnections(ctx.server.http, room, 0, idle * 4 + 5000, 100)).toBe(0)
    const droppedAt = Date.now()
    while (tcpClosedAt === undefined && Date.now() - droppedAt < 5000) await sleep(25)
    expect(tcpClosedAt, 'TCP connection still open 5 s after the member was dropped').toBeDefined()
    expect(closeFrames).toBeLessThanOrEqual(1)
    socket.destroy()
  }, 60000)

  it.runIf(ctx.target.caps.gracefulShutdown)('on SIGTERM closes every client with 1001 shutting_down and exits 0', async () => {
    const server = await ctx.target.start(ctx.env)
    try {
      const raw = await connect(server.ws)
      const { client: json } = await connectJson(`${server.ws}/rooms/${uniqueRoom()}`)
      const started = Date.now()
      const code = await server.stop('SIGTERM')
      expect(code).toBe(0)
      expect(Date.now() - started).toBeLessThan(5000)
      for (const closed of [await raw.closed, await json.closed]) {
        expect(closed.code).toBe(1001)
        expect(closed.reason).toMatch(/^shutting_down: /)
      }
    } finally {
      await server.stop('SIGKILL')
    }
  }, 60000)
}
