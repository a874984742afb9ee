/** Raw mode: the classic chat server's behaviour. */
import { expect, it } from 'vitest'
import { connect, uniqueRoom } from '../support/client.ts'
import { at } from '../support/present.ts'
import type { SuiteContext } from './suite.ts'

export function rawScenarios(ctx: SuiteContext): void {
  it('the classic three-client flow on /: every text reaches every client, the sender included, as text', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => connect(ctx.server.ws)))
    at(clients, 0).send('hello from one')
    for (const c of clients) {
      const r = await c.next()
      expect(r.binary).toBe(false)
      expect(r.data).toBe('hello from one')
    }
    at(clients, 2).send('and from three')
    for (const c of clients) expect(await c.text()).toBe('and from three')
    await Promise.all(clients.map((c) => c.close()))
  })

  it('relays raw text byte for byte, unicode included', async () => {
    const room = uniqueRoom()
    const [a, b] = await Promise.all([connect(`${ctx.server.ws}/rooms/${room}`), connect(`${ctx.server.ws}/rooms/${room}`)])
    const samples = ['héllo wörld', '日本語のテキスト', '👩‍👩‍👧 emoji 🎉', '  spaces\ttabs\nnewlines  ', '{"type":"publish","data":1}', '']
    for (const s of samples) a.send(s)
    for (const s of samples) {
      expect(await a.text()).toBe(s)
      expect(await b.text()).toBe(s)
    }
    await Promise.all([a.close(), b.close()])
  })

  it('relays binary frames as binary to raw members', async () => {
    const room = uniqueRoom()
    const [a, b] = await Promise.all([connect(`${ctx.server.ws}/rooms/${room}`), connect(`${ctx.server.ws}/rooms/${room}`)])
    const bytes = Buffer.from([0, 1, 2, 250, 255])
    a.send(bytes)
    const r = await b.next()
    expect(r.binary).toBe(true)
    expect(Buffer.compare(r.data as Buffer, bytes)).toBe(0)
    await Promise.all([a.close(), b.close()])
  })

  it('keeps rooms apart', async () => {
    const r1 = uniqueRoom()
    const r2 = uniqueRoom()
    const [a, b, c] = await Promise.all([
      connect(`${ctx.server.ws}/rooms/${r1}`),
      connect(`${ctx.server.ws}/rooms/${r1}`),
      connect(`${ctx.server.ws}/rooms/${r2}`),
    ])
    a.send('only for room one')
    expect(await b.text()).toBe('only for room one')
    c.send('only for room two')
    expect(await c.text()).toBe('only for room two')
    expect(await a.text()).toBe('only for room one')
    expect((await b.drain()).map((r) => r.data)).toEqual([])
    expect((await c.drain()).map((r) => r.data)).toEqual([])
    await Promise.all([a.close(), b.close(), c.close()])
  })
}
