/** Round trips per frame type: what the server encodes parses back to the frame the protocol describes, and what a client sends decodes to what it meant. */
import { describe, expect, it } from 'vitest'
import type { ClientFrame } from '../../src/index.ts'
import {
  Errors,
  PONG,
  decodeClientFrame,
  encodeAck,
  encodeError,
  encodeMessage,
  encodePresence,
  encodeWelcome,
  fromBase64,
  parseIdempotencyKey,
  parseJoinQuery,
  toBase64,
  utf8Length,
} from '../../src/index.ts'

describe('server frames parse back to their fields', () => {
  it('welcome, fresh and resumed', () => {
    expect(JSON.parse(encodeWelcome('r', 'c-1', { seq: 4, epoch: 'e1' }))).toEqual({ type: 'welcome', room: 'r', connectionId: 'c-1', seq: 4, epoch: 'e1' })
    expect(JSON.parse(encodeWelcome('r', 'c-1', { seq: 4, epoch: 'e1' }, { since: 2, complete: false }))).toEqual({
      type: 'welcome',
      room: 'r',
      connectionId: 'c-1',
      seq: 4,
      epoch: 'e1',
      resumed: { since: 2, complete: false },
    })
  })

  it('message with JSON data in place, and the publisher when known', () => {
    expect(JSON.parse(encodeMessage('r"x', { seq: 1, ts: 2, kind: 'json', body: '{"a":1}', from: 'bo"b' }))).toEqual({
      type: 'message',
      room: 'r"x',
      seq: 1,
      data: { a: 1 },
      ts: 2,
      from: 'bo"b',
    })
  })

  it('message with text data, escaped', () => {
    const f = JSON.parse(encodeMessage('r', { seq: 1, ts: 2, kind: 'text', body: 'line\n"q" \u2028 👋' }))
    expect(f).toEqual({ type: 'message', room: 'r', seq: 1, data: 'line\n"q" \u2028 👋', ts: 2 })
  })

  it('message with binary data as base64 and binary: true', () => {
    const bytes = new Uint8Array([0, 1, 254, 255])
    const f = JSON.parse(encodeMessage('r', { seq: 9, ts: 3, kind: 'binary', body: bytes }))
    expect(f).toMatchObject({ type: 'message', seq: 9, binary: true })
    expect(fromBase64(f.data)).toEqual(bytes)
  })

  it('ack', () => expect(JSON.parse(encodeAck('id "1"', 7))).toEqual({ type: 'ack', id: 'id "1"', seq: 7 }))
  it('ack of a duplicate', () => expect(JSON.parse(encodeAck('p1', 3, true))).toEqual({ type: 'ack', id: 'p1', seq: 3, duplicate: true }))

  it('presence', () => expect(JSON.parse(encodePresence('r"', 3))).toEqual({ type: 'presence', room: 'r"', connections: 3 }))

  it('error, with the table message or its own, with and without id', () => {
    expect(JSON.parse(encodeError('bad_json'))).toEqual({ type: 'error', code: 'bad_json', message: Errors.bad_json.message })
    expect(JSON.parse(encodeError('bad_frame', 'publish needs "data"', 'q'))).toEqual({
      type: 'error',
      code: 'bad_frame',
      message: 'publish needs "data"',
      id: 'q',
    })
  })

  it('pong', () => expect(JSON.parse(PONG)).toEqual({ type: 'pong' }))
})

describe('client frames decode to what the client sent', () => {
  it.each<[string, ClientFrame]>([
    ['ping', { type: 'ping' }],
    ['publish', { type: 'publish', data: { list: [1, 'two', null] } }],
    ['publish with id', { type: 'publish', data: 'hi', id: 'p1' }],
  ])('%s', (_name, frame) => {
    const d = decodeClientFrame(JSON.stringify(frame))
    expect(d.ok && d.frame).toEqual(frame)
    if (frame.type === 'publish') expect(d.ok && JSON.parse(d.dataJson as string)).toEqual(frame.data)
  })
})

describe('join query', () => {
  const parse = (search: string, subprotocols?: string) => {
    const q = new URLSearchParams(search)
    return parseJoinQuery(subprotocols, (name) => q.get(name) ?? undefined)
  }

  it('reads the mode from the subprotocol or ?protocol=, and a resume point', () => {
    expect(parse('')).toEqual({ mode: 'raw' })
    expect(parse('', 'roomcast.v1, a-token')).toEqual({ mode: 'json' })
    expect(parse('protocol=roomcast.v1&since=12&epoch=ab_C-9')).toEqual({ mode: 'json', since: 12, epoch: 'ab_C-9' })
  })

  it.each([
    ['protocol=roomcast.v2', /unknown protocol/],
    ['since=-1', /"since"/],
    ['since=1.5', /"since"/],
    ['since=1234567890123456', /"since"/],
    ['epoch=a%20b', /"epoch"/],
    [`epoch=${'x'.repeat(65)}`, /"epoch"/],
    ['client=', /"client"/],
    ['client=a.b', /"client"/],
    [`client=${'k'.repeat(65)}`, /"client"/],
  ])('refuses %s with a reason', (search, reason) => expect(parse(search)).toMatch(reason))

  it('reads a client key of 1 to 64 of A-Z a-z 0-9 _ -', () => {
    expect(parse('client=Ab_9-z')).toEqual({ mode: 'raw', client: 'Ab_9-z' })
    expect(parse(`protocol=roomcast.v1&client=${'k'.repeat(64)}`)).toEqual({ mode: 'json', client: 'k'.repeat(64) })
  })
})

describe('Idempotency-Key', () => {
  it('takes a bare token or a structured-field string, which spell the same key', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined()
    expect(parseIdempotencyKey('8e03978e-40d5')).toBe('8e03978e-40d5')
    expect(parseIdempotencyKey('"8e03978e-40d5"')).toBe('8e03978e-40d5')
    expect(parseIdempotencyKey(' k ')).toBe('k')
    expect(parseIdempotencyKey('x'.repeat(256))).toBe('x'.repeat(256))
  })

  it.each(['', '""', ' ', 'x'.repeat(257)])('refuses %j with the limits of a publish id', (header) => {
    expect(parseIdempotencyKey(header)).toEqual({ bad: 'Idempotency-Key must be 1 to 256 characters' })
  })
})

describe('bytes', () => {
  it('base64 round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(fromBase64(toBase64(all))).toEqual(all)
    expect(toBase64(all)).toBe(btoa(String.fromCharCode(...all)))
  })

  it.each(['', 'ascii', 'é', '€', '👋', '\ud800 lone surrogate'])('counts UTF-8 bytes of %j as TextEncoder does', (s) => {
    expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length)
  })
})
