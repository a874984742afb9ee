import { describe, expect, it } from 'vitest'
import { handshakeProblem, isValidHost } from '../../src/index.ts'

const valid = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' }
const problem = (changes: Record<string, string | null>) => {
  const headers = new Headers()
  for (const [k, v] of Object.entries({ ...valid, ...changes })) if (v !== null) headers.set(k, v)
  return handshakeProblem(headers)
}

describe('handshakeProblem', () => {
  it('accepts a valid handshake, with Connection as a token list in any case', () => {
    expect(problem({})).toBeNull()
    expect(problem({ connection: 'keep-alive, UPGRADE' })).toBeNull()
  })

  it.each([
    ['no Connection', { connection: null }, 400, /Connection: Upgrade/],
    ['Connection without upgrade', { connection: 'keep-alive, upgraded' }, 400, /Connection: Upgrade/],
    ['no key', { 'sec-websocket-key': null }, 400, /Sec-WebSocket-Key/],
    ['a key of 5 bytes', { 'sec-websocket-key': 'c2hvcnQ=' }, 400, /Sec-WebSocket-Key/],
    ['version 8', { 'sec-websocket-version': '8' }, 426, /version 13/],
    ['no version', { 'sec-websocket-version': null }, 426, /version 13/],
  ])('refuses %s', (_what, changes, status, message) => {
    const p = problem(changes)
    expect(p?.status).toBe(status)
    expect(p?.message).toMatch(message)
  })
})

describe('isValidHost', () => {
  it.each(['example.com', 'example.com:8080', '127.0.0.1:3000', '[::1]:3000', 'LOCALHOST', undefined, null])('accepts %s', (host) => {
    expect(isValidHost(host)).toBe(true)
  })
  it.each(['a b', 'a/b', 'a?b', 'a#b', 'user@host', 'a\\b', '', 'host:port', 'a, b'])('refuses %j', (host) => {
    expect(isValidHost(host)).toBe(false)
  })
})
