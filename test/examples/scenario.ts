/**
 * The embedding scenario every example (examples/*) must pass, whatever the runtime: the app's own
 * route, its login, roomcast under /live behind the app's session cookie (authorize), the app's
 * message rule (message), and the chat page with its scripts under the prefix.
 */
import { expect } from 'vitest'
import type { TestClient } from '../support/client.ts'
import { connect, connectJson, refused, uniqueRoom } from '../support/client.ts'

/** POST /login as `name`; the session cookie (`sid=...`) it set. */
export async function login(http: string, name: string): Promise<string> {
  const res = await fetch(`${http}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }) })
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ name })
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sid='))
  expect(cookie, 'POST /login sets sid').toBeDefined()
  return (cookie as string).split(';')[0] as string
}

/** The next message frame, skipping presence and anything else that is not one. */
async function nextMessage(client: TestClient): Promise<any> {
  return client.frame('message', 5000, ['presence'])
}

/**
 * Run the whole scenario against an example app listening at `http` (http://127.0.0.1:PORT). `v2`: the
 * runtime serves protocol v2 on the mount root (not Cloudflare, whose Worker refuses it there).
 */
export async function embeddingScenario(http: string, { v2 = true }: { v2?: boolean } = {}): Promise<void> {
  const ws = http.replace(/^http/, 'ws')
  const room = uniqueRoom('ex')
  const clients: TestClient[] = []
  try {
    // The app's own route, untouched by roomcast.
    const hello = await fetch(`${http}/api/hello`)
    expect(hello.status).toBe(200)
    expect(await hello.json()).toEqual({ hello: 'world' })

    // Without a session, authorize refuses upgrades and HTTP room requests with the app's code.
    const anon = await refused(`${ws}/live/rooms/${room}`, { protocols: 'roomcast.v1' })
    expect(anon.status).toBe(401)
    expect(anon.error).toBe('no_session')
    const anonStats = await fetch(`${http}/live/rooms/${room}`)
    expect(anonStats.status).toBe(401)
    expect(anonStats.headers.get('x-roomcast-error')).toBe('no_session')
    const anonPublish = await fetch(`${http}/live/rooms/${room}/messages`, { method: 'POST', body: 'hi' })
    expect(anonPublish.status).toBe(401)

    const alice = await login(http, 'alice')
    const bob = await login(http, 'bob')
    const a = await connectJson(`${ws}/live/rooms/${room}`, { headers: { Cookie: alice } })
    const b = await connectJson(`${ws}/live/rooms/${room}`, { headers: { Cookie: bob } })
    clients.push(a.client, b.client)
    expect(a.welcome.room).toBe(room)

    // authorize set sub to the session's name, so bob sees alice's message as from alice.
    a.client.send({ type: 'publish', data: { text: 'hello' }, id: 'p1' })
    const ack1 = await a.client.frame('ack')
    expect(ack1).toMatchObject({ id: 'p1' })
    const m1 = await nextMessage(b.client)
    expect(m1).toMatchObject({ type: 'message', room, seq: ack1.seq, data: { text: 'hello' }, from: 'alice' })

    // The message hook rejects a spoiler with the app's code, for the publish's id; it gets no seq and reaches no one.
    a.client.send({ type: 'publish', data: { text: 'the butler did it: a spoiler' }, id: 'p2' })
    const rejected = await a.client.frame('error')
    expect(rejected).toMatchObject({ type: 'error', code: 'rejected', id: 'p2' })
    b.client.send({ type: 'publish', data: { text: 'after' }, id: 'p3' })
    const ack3 = await b.client.frame('ack')
    expect(ack3.seq, 'the spoiler took no seq').toBe(ack1.seq + 1)
    // What alice receives next is bob's message: the spoiler did not come between.
    expect(await nextMessage(a.client)).toMatchObject({ seq: ack3.seq, data: { text: 'after' }, from: 'bob' })

    // HTTP publish and stats under the prefix, with the same hooks.
    const viaHttp = await fetch(`${http}/live/rooms/${room}/messages`, {
      method: 'POST',
      headers: { Cookie: alice, 'Content-Type': 'application/json' },
      body: '{"text":"via http"}',
    })
    expect(viaHttp.status).toBe(202)
    const { seq } = (await viaHttp.json()) as { seq: number }
    expect(seq).toBe(ack3.seq + 1)
    expect(await nextMessage(b.client)).toMatchObject({ seq, data: { text: 'via http' }, from: 'alice' })
    const spoilerHttp = await fetch(`${http}/live/rooms/${room}/messages`, { method: 'POST', headers: { Cookie: alice }, body: 'spoiler ahead' })
    expect(spoilerHttp.status).toBe(422)
    expect(await spoilerHttp.json()).toMatchObject({ error: 'rejected' })
    const stats = await fetch(`${http}/live/rooms/${room}`, { headers: { Cookie: bob } })
    expect(stats.status).toBe(200)
    expect(await stats.json()).toMatchObject({ room, seq, connections: 2 })

    // Health and the default room under the prefix, with and without the trailing slash.
    const health = await fetch(`${http}/live/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ ok: true })
    for (const path of ['/live/', '/live']) {
      const lobby = await connectJson(`${ws}${path}`, { headers: { Cookie: bob } })
      clients.push(lobby.client)
      expect(lobby.welcome.room).toBe('lobby')
    }

    // The chat page: /live redirects to /live/, whose script and WebSocket URLs are relative to it.
    const bare = await fetch(`${http}/live`, { redirect: 'manual' })
    expect(bare.status).toBe(308)
    expect(new URL(bare.headers.get('location') as string, http).pathname).toBe('/live/')
    const page = await fetch(`${http}/live/?room=${room}`)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('<script src="client/chat.js"></script>')
    for (const script of ['client/chat.js', 'client/roomcast.js']) {
      const js = await fetch(new URL(script, page.url))
      expect(js.status, script).toBe(200)
      expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
      expect((await js.text()).length).toBeGreaterThan(1000)
    }

    // Protocol v2 through the same hooks: authorize at the upgrade by the cookie (no room), again per
    // subscribe and first publish (with the room); message rejects a spoiler with the room named.
    if (v2) {
      const v2room = uniqueRoom('ex2')
      const anonV2 = await refused(`${ws}/live/`, { protocols: 'roomcast.v2' })
      expect(anonV2.status).toBe(401)
      expect(anonV2.error).toBe('no_session')
      const multi = await connect(`${ws}/live/`, { protocols: 'roomcast.v2', headers: { Cookie: alice } })
      clients.push(multi)
      expect(JSON.parse(await multi.text())).toMatchObject({ type: 'welcome', protocol: 'roomcast.v2', sub: 'alice' })
      const v1 = await connectJson(`${ws}/live/rooms/${v2room}`, { headers: { Cookie: bob } })
      clients.push(v1.client)
      multi.send({ type: 'subscribe', room: v2room, id: 's' })
      expect(await multi.frame('subscribed')).toMatchObject({ room: v2room, id: 's', seq: 0 })
      multi.send({ type: 'publish', room: v2room, data: { text: 'a spoiler' }, id: 'x' })
      expect(await multi.frame('error')).toMatchObject({ code: 'rejected', room: v2room, id: 'x' })
      multi.send({ type: 'publish', room: v2room, data: { text: 'over v2' }, id: 'y' })
      expect(await multi.frame('ack')).toMatchObject({ id: 'y', room: v2room, seq: 1 })
      expect(await nextMessage(v1.client)).toMatchObject({ room: v2room, seq: 1, data: { text: 'over v2' }, from: 'alice' })
      v1.client.send({ type: 'publish', data: { text: 'over v1' }, id: 'z' })
      expect(await nextMessage(multi)).toMatchObject({ room: v2room, seq: 2, data: { text: 'over v1' }, from: 'bob' })
    } else {
      // Where one socket cannot span rooms (Cloudflare), v2 on the mount root is refused, session or not.
      const noV2 = await refused(`${ws}/live/`, { protocols: 'roomcast.v2', headers: { Cookie: alice } })
      expect(noV2).toMatchObject({ status: 400, error: 'bad_request' })
    }
  } finally {
    for (const c of clients) c.ws.terminate()
  }
}
