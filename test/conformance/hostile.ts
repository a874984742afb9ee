/** Hostile and broken clients: each gets a clear error or close code, and nobody else notices. */
import { expect, it } from 'vitest'
import { connect, connectJson, uniqueRoom, waitForConnections } from '../support/client.ts'
import { frameHeader, handshake } from '../support/raw-socket.ts'
import type { SuiteContext } from './suite.ts'

export function hostileScenarios(ctx: SuiteContext): void {
  const url = (room: string) => `${ctx.server.ws}/rooms/${room}`
  const stats = async (room: string) => (await fetch(`${ctx.server.http}/rooms/${room}`)).json()

  it('answers malformed json frames with error frames and keeps the connection open', async () => {
    const { client } = await connectJson(url(uniqueRoom()))
    const cases: [string, string][] = [
      ['{not json', 'bad_json'],
      ['[1,2,3]', 'bad_frame'],
      ['"a string"', 'bad_frame'],
      ['null', 'bad_frame'],
      ['{"type":"shout","data":1}', 'bad_frame'],
      ['{"data":1}', 'bad_frame'],
      ['{"type":"publish"}', 'bad_frame'],
      ['{"type":"publish","data":1,"id":42}', 'bad_frame'],
    ]
    for (const [frame, code] of cases) {
      client.send(frame)
      const err = await client.frame('error')
      expect(err.code, frame).toBe(code)
      expect(typeof err.message).toBe('string')
      expect(err.message.length).toBeGreaterThan(0)
    }
    client.send('{"type":"publish","id":"x1"}')
    expect(await client.frame('error')).toMatchObject({ code: 'bad_frame', id: 'x1' })
    client.send({ type: 'ping' })
    expect(await client.frame('pong')).toEqual({ type: 'pong' })
    await client.close()
  })

  it('makes prototype keys harmless: delivered as plain data, the server unaffected', async () => {
    const room = uniqueRoom()
    const a = await connectJson(url(room))
    const b = await connectJson(url(room))
    a.client.send('{"type":"publish","data":{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}},"__proto__":{"type":"ping"}}')
    const msg = await b.client.frame('message')
    expect(JSON.stringify(msg.data)).toBe('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}')
    a.client.send({ type: 'publish', data: 'still fine', id: 'ok' })
    expect(await a.client.frame('ack')).toMatchObject({ id: 'ok', seq: 2 })
    await Promise.all([a.client.close(), b.client.close()])
  })

  it('closes a json member that sends binary with 1003', async () => {
    const { client } = await connectJson(url(uniqueRoom()))
    client.send(Buffer.from([1, 2, 3]))
    expect((await client.closed).code).toBe(1003)
  })

  it('closes with 1009 too_large when a frame exceeds the size limit, and bystanders are unaffected', async () => {
    const room = uniqueRoom()
    const big = await connect(url(room))
    const bystander = await connect(url(room))
    big.send('x'.repeat(64 * 1024 + 1))
    expect(await big.closed).toEqual({ code: 1009, reason: 'too_large: frame exceeds the size limit' })
    const other = await connect(url(room))
    other.send('after the big one')
    expect(await bystander.text()).toBe('after the big one')
    await Promise.all([bystander.close(), other.close()])
  })

  const anySize = ctx.target.caps.tooLargeReasonAtAnySize ?? true
  it(`closes a frame 16 times the size limit with 1009${anySize ? ' too_large' : ''}, text or binary`, async () => {
    for (const payload of ['x'.repeat(1024 * 1024), Buffer.alloc(1024 * 1024, 1)]) {
      const c = await connect(url(uniqueRoom()))
      c.send(payload)
      const closed = await c.closed
      expect(closed.code).toBe(1009)
      if (anySize) expect(closed.reason).toBe('too_large: frame exceeds the size limit')
    }
  })

  it.runIf(ctx.target.caps.utf8Validation)('closes a text frame that is not valid UTF-8 with 1007', async () => {
    const c = await connect(url(uniqueRoom()))
    c.ws.send(Buffer.from([0x68, 0xff, 0xfe]), { binary: false })
    expect((await c.closed).code).toBe(1007)
  })

  // Where the runtime handles invalid UTF-8 itself (Deno drops the connection, workerd substitutes U+FFFD),
  // what must still hold: no invalid text reaches anyone, and the room carries on.
  it.runIf(!ctx.target.caps.utf8Validation)('never relays invalid UTF-8, and the room carries on', async () => {
    const room = uniqueRoom()
    const c = await connect(url(room))
    const bystander = await connect(url(room))
    c.ws.send(Buffer.from([0x68, 0xff, 0xfe]), { binary: false })
    bystander.send('after the bad bytes')
    const seen: string[] = []
    for (;;) {
      const text = await bystander.text()
      if (text === 'after the bad bytes') break
      seen.push(text)
    }
    // Either nothing arrived from the bad frame, or it arrived repaired (each bad byte as U+FFFD).
    expect(seen.every((t) => t === 'h\uFFFD\uFFFD')).toBe(true)
    await bystander.close()
    c.ws.terminate()
  })

  it('rate-limits a burst with rate_limited errors and drops the excess', async () => {
    const room = uniqueRoom()
    const a = await connectJson(url(room))
    const b = await connectJson(url(room))
    for (let i = 0; i < 130; i++) a.client.send({ type: 'publish', data: i, id: `r${i}` })
    // Every publish is answered once, with an ack or an error (acks can come after later errors: wait for all).
    let answered = 0
    const frames = await a.client.until((f) => (f.type === 'ack' || f.type === 'error') && ++answered === 130)
    const acks = frames.filter((f) => f.type === 'ack')
    const limited = frames.filter((f) => f.type === 'error')
    expect(limited.length).toBeGreaterThan(0)
    expect(limited.every((f) => f.code === 'rate_limited' && f.id.startsWith('r'))).toBe(true)
    expect(acks.length + limited.length).toBe(130)
    // Published after every ack, so it comes after every message they stand for: once it is there, nothing else is coming.
    expect((await fetch(`${ctx.server.http}/rooms/${room}/messages`, { method: 'POST', body: 'sentinel' })).status).toBe(202)
    const delivered = (await b.client.until((f) => f.type === 'message' && f.data === 'sentinel')).filter((f) => f.type === 'message')
    expect(delivered.length).toBe(acks.length + 1)
    await Promise.all([a.client.close(), b.client.close()])
  })

  /**
   * Check the close a client that was still sending saw: the code and reason, or, where the runtime resets
   * the connection (closeCodeWhileClientSends off), possibly 1006 with neither. Returns whether the code came.
   * Each scenario also asserts what holds on both paths, so the reset path is tested too.
   */
  function closedWhileSending(closed: { code: number; reason: string }, code: number, reason: RegExp): boolean {
    if (!ctx.target.caps.closeCodeWhileClientSends && closed.code === 1006) {
      expect(closed.reason).toBe('')
      return false
    }
    expect(closed.code).toBe(code)
    expect(closed.reason).toMatch(reason)
    return true
  }

  const answers = (client: { inbox: { data: string | Buffer }[] }) =>
    client.inbox.map((r) => JSON.parse(r.data as string)).filter((f) => f.type === 'ack' || f.type === 'error')

  it('closes a sustained flood with 1008, and the room forgets it', async () => {
    const room = uniqueRoom()
    const { client } = await connectJson(url(room))
    for (let i = 0; i < 400 && client.ws.readyState === client.ws.OPEN; i++) client.send({ type: 'publish', data: i, id: `f${i}` })
    closedWhileSending(await client.closed, 1008, /flooding/)
    // On either path the server stopped answering partway through: it dropped the flood, nothing else ended it.
    expect(answers(client).length).toBeLessThan(400)
    expect(await waitForConnections(ctx.server.http, room, 0)).toBe(0)
  })

  it('closes with 1008 past the bad-frame budget, after 20 error frames', async () => {
    const room = uniqueRoom()
    const { client } = await connectJson(url(room))
    for (let i = 0; i < 25 && client.ws.readyState === client.ws.OPEN; i++) client.send('garbage')
    const coded = closedWhileSending(await client.closed, 1008, /too_many_errors/)
    const errors = answers(client)
    expect(errors.every((f) => f.code === 'bad_json')).toBe(true)
    // A reset may discard error frames the client had not read yet, never add any.
    if (coded) expect(errors.length).toBe(20)
    else expect(errors.length).toBeLessThanOrEqual(20)
    expect(await waitForConnections(ctx.server.http, room, 0)).toBe(0)
  })

  it('forgets sockets destroyed mid-frame, and the room carries on', async () => {
    const room = uniqueRoom()
    const bystander = await connect(url(room))
    const sockets = await Promise.all([1, 2, 3].map(() => handshake(ctx.server.port, `/rooms/${room}`)))
    expect(await waitForConnections(ctx.server.http, room, 4)).toBe(4)
    for (const s of sockets) {
      s.write(Buffer.concat([frameHeader(0x1, 1000), Buffer.alloc(10, 0x41)]))
      s.destroy()
    }
    expect(await waitForConnections(ctx.server.http, room, 1)).toBe(1)
    bystander.send('still here')
    expect(await bystander.text()).toBe('still here')
    await bystander.close()
  })

  it.runIf(ctx.target.caps.slowConsumer)('closes a member that stops reading with 1013, without slowing the others', async () => {
    const room = uniqueRoom()
    const slow = await connect(url(room))
    const fast = await connect(url(room))
    slow.ws.pause()
    const chunk = 'y'.repeat(60 * 1024)
    let sent = 0
    const deadline = Date.now() + 30000
    while ((await stats(room)).connections === 2 && sent < 1000 && Date.now() < deadline) {
      const res = await fetch(`${ctx.server.http}/rooms/${room}/messages`, { method: 'POST', body: chunk })
      expect(res.status).toBe(202)
      sent++
    }
    expect((await stats(room)).connections).toBe(1)
    for (let i = 0; i < sent; i++) expect((await fast.text(10000)).length).toBe(chunk.length)
    slow.ws.resume()
    expect((await slow.closed).code).toBe(1013)
    await fast.close()
  }, 60000)
}
