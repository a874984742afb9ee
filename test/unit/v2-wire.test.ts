import { describe, expect, it } from 'vitest'
import {
  decodeClientFrameV2,
  encodeAckV2,
  encodeErrorV2,
  encodeMessage,
  encodePresenceDiff,
  encodePresenceState,
  encodeSubscribed,
  encodeUnsubscribed,
  encodeWelcomeV2,
} from '../../src/index.ts'

describe('protocol v2 decode', () => {
  it.each([
    [{ type: 'subscribe', room: 'a' }],
    [{ type: 'subscribe', room: 'a.b-c_d', id: 's1', since: 7, epoch: 'e_1-x', presence: true }],
    [{ type: 'unsubscribe', room: 'a', id: 'u' }],
    [{ type: 'publish', room: 'a', data: { k: [1, 'x'] }, id: 'p' }],
    [{ type: 'publish', room: 'a', data: 'text' }],
    [{ type: 'ping' }],
  ])('round-trips %j', (frame) => {
    const d = decodeClientFrameV2(JSON.stringify(frame))
    expect(d).toMatchObject({ ok: true, frame })
    if (d.ok && frame.type === 'publish') expect(d.dataJson).toBe(JSON.stringify((frame as { data: unknown }).data))
  })

  it('drops presence:false rather than carrying it', () => {
    expect(decodeClientFrameV2('{"type":"subscribe","room":"a","presence":false}')).toEqual({ ok: true, frame: { type: 'subscribe', room: 'a' } })
  })

  it.each([
    ['not json', 'bad_json', undefined],
    ['[1]', 'bad_frame', undefined],
    ['{"type":"subscribe"}', 'bad_frame', undefined],
    ['{"type":"subscribe","room":"no spaces"}', 'bad_room', 'no spaces'],
    ['{"type":"subscribe","room":"a","since":-1}', 'bad_frame', 'a'],
    ['{"type":"subscribe","room":"a","since":1.5}', 'bad_frame', 'a'],
    ['{"type":"subscribe","room":"a","epoch":"bad epoch"}', 'bad_frame', 'a'],
    ['{"type":"subscribe","room":"a","presence":"yes"}', 'bad_frame', 'a'],
    ['{"type":"publish","room":"a"}', 'bad_frame', 'a'],
    ['{"type":"welcome","room":"a"}', 'bad_frame', undefined],
  ])('refuses %s with %s (room %s)', (text, code, room) => {
    const d = decodeClientFrameV2(text)
    expect(d.ok).toBe(false)
    if (!d.ok) {
      expect(d.code).toBe(code)
      expect(d.room).toBe(room)
    }
  })

  it('refuses data nested past the depth limit, as v1 does', () => {
    const deep = '['.repeat(1001) + ']'.repeat(1001)
    expect(decodeClientFrameV2(`{"type":"publish","room":"a","data":${deep}}`)).toMatchObject({ ok: false, code: 'bad_frame', room: 'a' })
  })

  it('keeps the id of a refused frame so the error can name it', () => {
    expect(decodeClientFrameV2('{"type":"publish","room":"a","id":"p9"}')).toMatchObject({ ok: false, id: 'p9', room: 'a' })
  })
})

describe('protocol v2 encode', () => {
  it('writes the frames the issue names, as JSON that parses back', () => {
    expect(JSON.parse(encodeWelcomeV2('c-1', 'ann'))).toEqual({ type: 'welcome', connectionId: 'c-1', protocol: 'roomcast.v2', sub: 'ann' })
    expect(JSON.parse(encodeWelcomeV2('c-1'))).toEqual({ type: 'welcome', connectionId: 'c-1', protocol: 'roomcast.v2' })
    expect(JSON.parse(encodeSubscribed('r', { seq: 3, epoch: 'e' }, 's', { since: 1, complete: true }))).toEqual({
      type: 'subscribed',
      room: 'r',
      seq: 3,
      epoch: 'e',
      id: 's',
      resumed: { since: 1, complete: true },
    })
    expect(JSON.parse(encodeUnsubscribed('r', 'u"1'))).toEqual({ type: 'unsubscribed', room: 'r', id: 'u"1' })
    expect(JSON.parse(encodeUnsubscribed('r'))).toEqual({ type: 'unsubscribed', room: 'r' })
    expect(JSON.parse(encodeAckV2('p"\\', 'r', 9))).toEqual({ type: 'ack', id: 'p"\\', room: 'r', seq: 9 })
    expect(JSON.parse(encodeErrorV2('forbidden', 'no', 'r', 'x'))).toEqual({ type: 'error', code: 'forbidden', message: 'no', room: 'r', id: 'x' })
    expect(JSON.parse(encodePresenceState('r', 3, [{ sub: 'a', connections: 2 }], false))).toEqual({
      type: 'presence',
      room: 'r',
      connections: 3,
      members: [{ sub: 'a', connections: 2 }],
    })
    expect(JSON.parse(encodePresenceState('r', 3, [], true))).toMatchObject({ truncated: true })
    expect(JSON.parse(encodePresenceDiff('r', 1, [{ sub: 'b', connections: 1 }], ['a'], false))).toEqual({
      type: 'presence',
      room: 'r',
      connections: 1,
      joins: [{ sub: 'b', connections: 1 }],
      leaves: [{ sub: 'a' }],
    })
  })

  it("has a message frame that is v1's, so v1 and v2 members share one encoding per broadcast", () => {
    // The v2 message frame is {type, room, seq, data, ts, from?}: exactly the fields, in the order, of v1's.
    const frame = JSON.parse(encodeMessage('r', { kind: 'json', body: '{"a":1}', seq: 4, ts: 5, from: 'ann' }))
    expect(Object.keys(frame)).toEqual(['type', 'room', 'seq', 'data', 'ts', 'from'])
  })
})
