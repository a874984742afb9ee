/**
 * The client turned away by a real Node server: where trying again cannot help (no token, a token for
 * another room, a client closed for too many bad frames) it stops, with the server's reason; where it can
 * (a full server, an expired token with a fresh one to come) it keeps trying, no sooner than it was asked to.
 */
import { describe, expect, it } from 'vitest'
import { mintToken } from '../../src/index.ts'
import { uniqueRoom } from '../support/client.ts'
import { at } from '../support/present.ts'
import { clientFixture, rejection, startNode, until } from './harness.ts'

const SECRET = 'client-secret-0123456789-abcdefghijklmno'
const ENV = { AUTH_SECRET: SECRET, PRESENCE_INTERVAL_MS: '20' }
// The first retry waits 200 to 400 ms: time for the door check (asked meanwhile) to answer, even under load.
const DELAYS = { initialDelayMs: 400, maxDelayMs: 400 }
const token = (rooms: string[], ttlSeconds = 600) => mintToken(SECRET, { rooms, pub: true, ttlSeconds })

describe('client: refusals and closes, terminal or not', () => {
  const fx = clientFixture(ENV, DELAYS)
  const { probe, proxy } = fx

  /** Wait until a control on the same retry schedule, refused all along, has tried four times. */
  async function fourAttemptsLater(): Promise<void> {
    const cx = await proxy()
    cx.drop(true)
    probe({ url: cx.ws, room: uniqueRoom() })
    await until(() => cx.accepted >= 4, 'four attempts of the control')
  }

  it.each([
    ['no token', undefined, 'unauthorized', 401, 'a token is required'],
    ['a token for another room', ['elsewhere'], 'forbidden', 403, 'this token does not grant this room'],
  ])('stops at a refused upgrade (%s): closed, with the code, status and message, and tries no more', async (_what, rooms, code, status, message) => {
    const px = await proxy()
    const a = probe({ url: px.ws, room: uniqueRoom(), token: rooms === undefined ? undefined : await token(rooms) })
    const queued = rejection(a.client.publish('never'))
    await until(() => a.client.state === 'closed', 'the client to stop')
    // Waiting to try again, until the door check said why; then closed for good.
    expect(a.states.map((s) => s.state)).toEqual(['connecting', 'closed'])
    expect(a.states[1]).toMatchObject({ state: 'closed', code: 1006, error: { code, status, retry: 'terminal' } })
    expect(at(a.states, 1).error?.message).toMatch(message)
    expect(await queued).toBe(code)
    // The upgrade and the door check that said why; then nothing.
    expect(px.accepted).toBe(2)
    await fourAttemptsLater()
    expect(px.accepted).toBe(2)
  })

  it('stops when the server closes it for too many bad frames (1008 too_many_errors)', async () => {
    const room = uniqueRoom()
    const px = await proxy()
    const a = probe({ url: px.ws, room, token: await token([room]) })
    await a.welcomed()
    for (let i = 0; i < 21; i++) at(a.sockets, 0).send('garbage')
    await until(() => a.client.state === 'closed', 'the client to stop')
    expect(a.states.at(-1)).toMatchObject({
      state: 'closed',
      code: 1008,
      reason: 'too_many_errors: too many bad frames',
      error: { code: 'too_many_errors', message: 'too many bad frames', retry: 'terminal' },
    })
    expect(await rejection(a.client.publish('after'))).toBe('closed')
    const tried = px.accepted
    await fourAttemptsLater()
    expect(px.accepted).toBe(tried)
    expect(a.sockets).toHaveLength(1)
  })

  it('keeps trying past a 503 server_full, no sooner than its Retry-After, and gets in once there is room', async () => {
    const full = await startNode({ ...ENV, MAX_CONNECTIONS: '1' })
    try {
      const room = uniqueRoom()
      const t = await token([room])
      const a = probe({ url: full.ws, room, token: t })
      await a.welcomed()
      const b = probe({ url: full.ws, room, token: t })
      const told = await until(() => b.states.find((s) => s.error !== undefined), 'b to be told why')
      expect(told).toMatchObject({ state: 'connecting', attempt: 1, error: { code: 'server_full', status: 503, retry: 'reconnect', retryAfterMs: 5000 } })
      // Counted from the refusal, the wait is at least the Retry-After.
      expect(told.delayMs).toBeGreaterThan(4500)
      await a.client.close()
      await b.welcomed(1, 15_000)
      expect(b.states.map((s) => s.state)).toEqual(['connecting', 'connecting', 'open'])
    } finally {
      await fx.closeProbes()
      await full.stop()
    }
  }, 30_000)

  it('reconnects after 4001 token_expired, with a new token from its token function', async () => {
    const room = uniqueRoom()
    let issued = 0
    const a = probe({ room, token: () => token([room], issued++ === 0 ? 1 : 600) })
    await a.welcomed()
    await a.welcomed(2, 15_000)
    expect(issued).toBe(2)
    expect(a.states.find((s) => s.state === 'reconnecting')).toMatchObject({
      code: 4001,
      error: { code: 'token_expired', retry: 'reconnect' },
    })
  })
})
