/** Resume after reconnect: ?since=N&epoch=E replays what history still holds, and says whether that was all. */
import { expect, it } from 'vitest'
import { connect, connectJson, uniqueRoom } from '../support/client.ts'
import type { SuiteContext } from './suite.ts'

export function resumeScenarios(ctx: SuiteContext): void {
  const url = (room: string, q = '') => `${ctx.server.ws}/rooms/${room}${q}`
  const history = () => Number(ctx.env.HISTORY_MESSAGES)

  async function publishN(room: string, n: number, from = 0): Promise<void> {
    const { client } = await connectJson(url(room))
    for (let i = from; i < from + n; i++) client.send({ type: 'publish', data: `m${i}`, id: `i${i}` })
    await client.frames('ack', n)
    await client.close()
  }

  it('replays what a client missed, in order with original seq, then goes live: complete', async () => {
    const room = uniqueRoom()
    const first = await connectJson(url(room))
    await publishN(room, 5)
    const seen = await first.client.frames('message', 5)
    const epoch = first.welcome.epoch
    await first.client.close()
    await publishN(room, 3, 5)
    const again = await connectJson(url(room, `?since=${seen[4].seq}&epoch=${epoch}`))
    expect(again.welcome).toMatchObject({ seq: 8, epoch, resumed: { since: 5, complete: true } })
    const replayed = await again.client.frames('message', 3)
    expect(replayed.map((f) => [f.seq, f.data])).toEqual([
      [6, 'm5'],
      [7, 'm6'],
      [8, 'm7'],
    ])
    await publishN(room, 1, 8)
    expect(await again.client.frame('message')).toMatchObject({ seq: 9, data: 'm8' })
    await again.client.close()
  })

  it('replays to raw members too, as plain text', async () => {
    const room = uniqueRoom()
    await publishN(room, 3)
    const raw = await connect(url(room, '?since=1'))
    expect([await raw.text(), await raw.text()]).toEqual(['m1', 'm2'])
    await raw.close()
  })

  it('says complete:false when the epoch differs, and replays what the new history holds', async () => {
    const room = uniqueRoom()
    await publishN(room, 2)
    const { client, welcome } = await connectJson(url(room, '?since=1&epoch=someotherepoch'))
    expect(welcome.resumed).toEqual({ since: 1, complete: false })
    expect((await client.frames('message', 2)).map((f) => f.seq)).toEqual([1, 2])
    await client.close()
  })

  it('says complete:false when history no longer reaches back to since+1', async () => {
    const room = uniqueRoom()
    const n = history() + 10
    const { client: first, welcome } = await connectJson(url(room))
    await first.close()
    await publishN(room, n)
    const { client, welcome: w2 } = await connectJson(url(room, `?since=2&epoch=${welcome.epoch}`))
    expect(w2.resumed).toEqual({ since: 2, complete: false })
    const replayed = await client.frames('message', history())
    expect(replayed[0].seq).toBe(n - history() + 1)
    expect(replayed.at(-1).seq).toBe(n)
    await client.close()
  })

  it('says complete:true with nothing to replay when the client is up to date', async () => {
    const room = uniqueRoom()
    await publishN(room, 2)
    const { client: probe, welcome } = await connectJson(url(room))
    await probe.close()
    const { client, welcome: w2 } = await connectJson(url(room, `?since=2&epoch=${welcome.epoch}`))
    expect(w2.resumed).toEqual({ since: 2, complete: true })
    expect((await client.drain()).map((r) => JSON.parse(r.data as string).type).filter((t) => t !== 'presence')).toEqual([])
    await client.close()
  })

  it('refuses a malformed since or epoch with 400', async () => {
    const { refusedStatus } = await import('../support/client.ts')
    expect(await refusedStatus(url(uniqueRoom(), '?since=-1'))).toBe(400)
    expect(await refusedStatus(url(uniqueRoom(), '?since=abc'))).toBe(400)
    expect(await refusedStatus(url(uniqueRoom(), '?since=1&epoch=bad%20epoch'))).toBe(400)
  })
}
