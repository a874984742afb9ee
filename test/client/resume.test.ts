/**
 * The client's reconnect and resume against real Node server processes: a
 * network drop (history kept: nothing missed, nothing twice), a silent
 * network (found by the client's ping), and a server killed and restarted
 * (history lost: the client is told, and takes the new numbers).
 */
import { describe, expect, it } from 'vitest'
import { at } from '../support/present.ts'
import { uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import { REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.ts'
import { clientFixture, sentinel, startNode, until } from './harness.ts'

const ENV = { PRESENCE_INTERVAL_MS: '20' }
const FAST = { initialDelayMs: 100, maxDelayMs: 400 }

describe('client: reconnect and resume', () => {
  const fx = clientFixture(ENV, FAST)
  const { probe, proxy } = fx

  it('resumes after a network drop: what was published while away arrives once, in order, and what it queued goes out', async () => {
    const room = uniqueRoom()
    const px = await proxy()
    const a = probe({ url: px.ws, room })
    const b = probe({ room })
    await Promise.all([a.welcomed(), b.welcomed()])
    await b.client.publish('before')
    expect(await a.client.publish('mine')).toBe(2)
    await until(() => a.messages.length === 1, 'the first message')

    px.drop(true)
    await until(() => a.client.state === 'reconnecting', 'a to notice the drop')
    for (let i = 0; i < 5; i++) await b.client.publish(`away${i}`)
    const queued = a.client.publish('sent while away')
    px.restore()

    const w = await a.welcomed(2)
    expect(w.resumed).toEqual({ since: 2, complete: true })
    expect(await queued).toBe(8)
    await until(() => a.messages.length === 6, 'the missed messages')
    await until(() => b.messages.length === 2, 'b to get both of a\'s messages')
    expect(a.client.lastSeq).toBe(8)
    await Promise.all([sentinel(b, a), sentinel(a, b)])
    expect(a.messages.map((m) => [m.seq, m.data])).toEqual([
      [1, 'before'],
      [3, 'away0'],
      [4, 'away1'],
      [5, 'away2'],
      [6, 'away3'],
      [7, 'away4'],
    ])
    expect(b.data()).toEqual(['mine', 'sent while away'])
    expect(a.missed).toEqual([])
    // open, then one or more refused attempts, then open again
    expect(a.states.map((s) => s.state).join(' ')).toMatch(/^open( reconnecting)+ open$/)
  })

  it('finds a connection that went silent with its ping, and resumes on a new one', async () => {
    const room = uniqueRoom()
    const px = await proxy()
    const a = probe({ url: px.ws, room, pingIntervalMs: 200 })
    const b = probe({ room })
    await Promise.all([a.welcomed(), b.welcomed()])
    px.stall()
    await b.client.publish('while silent')
    await until(() => a.client.state === 'reconnecting', 'a to give up on the silent connection')
    expect(a.states.find((s) => s.state === 'reconnecting')).toMatchObject({ code: 1006, reason: 'nothing heard for 400 ms' })
    px.drop()
    px.restore()
    expect((await a.welcomed(2)).resumed).toEqual({ since: 0, complete: true })
    await until(() => a.messages.length === 1, 'the message sent while silent')
    expect(a.data()).toEqual(['while silent'])
  })

  it('says when history no longer reaches back (complete:false, same epoch) and goes on from what is there', async () => {
    const small = await startNode({ ...ENV, HISTORY_MESSAGES: '3' })
    try {
      const room = uniqueRoom()
      const px = await proxy(small.port)
      const a = probe({ url: px.ws, room })
      const b = probe({ url: small.ws, room })
      await Promise.all([a.welcomed(), b.welcomed()])
      px.drop(true)
      await until(() => a.client.state === 'reconnecting', 'a to notice the drop')
      for (let i = 1; i <= 6; i++) await b.client.publish(`m${i}`)
      px.restore()
      await a.welcomed(2)
      expect(a.missed).toEqual([{ since: 0, restarted: false, epoch: at(a.welcomes, 0).epoch, previousEpoch: at(a.welcomes, 0).epoch }])
      await until(() => a.messages.length === 3, 'what history holds')
      expect(a.messages.map((m) => m.seq)).toEqual([4, 5, 6])
      expect(a.client.lastSeq).toBe(6)
      await b.client.publish('m7')
      await until(() => a.messages.length === 4, 'the next live message')
      expect(a.messages[3]?.seq).toBe(7)
    } finally {
      await fx.closeProbes()
      await small.stop()
    }
  })

  it('with Redis, resumes on another instance when its own is killed: nothing missed, nothing twice', async () => {
    await requireRedis()
    const env = { ...ENV, REDIS_URL, REDIS_PREFIX: uniquePrefix('client') }
    const [one, two] = await Promise.all([startNode(env), startNode(env)])
    try {
      const room = uniqueRoom()
      const px = await proxy(one.port)
      const a = probe({ url: px.ws, room })
      const b = probe({ url: two.ws, room })
      await Promise.all([a.welcomed(), b.welcomed()])
      await b.client.publish('b1')
      expect(await a.client.publish('a1')).toBe(2)
      await until(() => a.messages.length === 1 && b.messages.length === 1, 'the first messages')

      px.retarget(two.port)
      await one.stop('SIGKILL')
      await until(() => a.client.state === 'reconnecting', 'a to lose its instance')
      const queued = a.client.publish('a2, queued')
      for (let i = 2; i <= 4; i++) await b.client.publish(`b${i}`)

      const w = await a.welcomed(2)
      expect(w.resumed).toEqual({ since: 2, complete: true })
      expect(w.epoch).toBe(at(a.welcomes, 0).epoch)
      expect(await queued).toBeGreaterThan(2)
      await until(() => a.messages.length === 4 && b.messages.length === 2, 'everything')
      await Promise.all([sentinel(b, a), sentinel(a, b)])
      expect(a.messages.map((m) => m.data)).toEqual(['b1', 'b2', 'b3', 'b4'])
      expect(b.data()).toEqual(['a1', 'a2, queued'])
      expect(a.missed).toEqual([])
    } finally {
      await fx.closeProbes()
      await Promise.all([one.stop(), two.stop()])
    }
  })

  it('after the server is killed and restarted (history lost) it reconnects, says so, and takes the new numbers', async () => {
    const first = await startNode(ENV)
    let second: ServerHandle | undefined
    try {
      const room = uniqueRoom()
      const a = probe({ url: first.ws, room })
      const b = probe({ url: first.ws, room })
      await Promise.all([a.welcomed(), b.welcomed()])
      for (let i = 1; i <= 3; i++) await a.client.publish(`old${i}`)
      await until(() => b.messages.length === 3, 'the old messages')
      const oldEpoch = b.client.epoch

      await first.stop('SIGKILL')
      await until(() => a.client.state === 'reconnecting' && b.client.state === 'reconnecting', 'both to notice')
      const queued = a.client.publish('during the restart')
      second = await startNode(ENV, first.port)

      await Promise.all([a.welcomed(2), b.welcomed(2)])
      expect(b.welcomes[1]?.resumed).toEqual({ since: 3, complete: false })
      expect(b.missed).toEqual([{ since: 3, restarted: true, epoch: at(b.welcomes, 1).epoch, previousEpoch: oldEpoch }])
      expect(b.client.epoch).not.toBe(oldEpoch)
      expect(await queued).toBe(1) // the new history's numbers start over
      await until(() => b.messages.length === 4, 'the message sent during the restart')
      expect(await a.client.publish('after')).toBe(2)
      await until(() => b.messages.length === 5, 'the next message')
      await sentinel(a, b)
      expect(b.messages.map((m) => [m.seq, m.data])).toEqual([
        [1, 'old1'],
        [2, 'old2'],
        [3, 'old3'],
        [1, 'during the restart'],
        [2, 'after'],
      ])
    } finally {
      await fx.closeProbes()
      await second?.stop()
      await first.stop()
    }
  })
})
