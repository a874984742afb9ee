import { describe, expect, it } from 'vitest'
import type { RefusalCode } from '../../src/index.ts'
import { Refusals, refusal, refusalResponse } from '../../src/index.ts'

describe('the HTTP refusal table', () => {
  it('gives every code a status, a retry class and a readable message; Retry-After only where the status has one', () => {
    for (const [code, spec] of Object.entries(Refusals)) {
      expect([400, 401, 403, 404, 413, 415, 422, 426, 429, 500, 503, 504], code).toContain(spec.status)
      expect(['reconnect', 'terminal'], code).toContain(spec.retry)
      expect(spec.message.length, code).toBeGreaterThan(5)
      expect('retryAfter' in spec, code).toBe(spec.status === 429 || spec.status === 503)
    }
  })

  it.each([
    ['bad_room', 'terminal'],
    ['bad_request', 'terminal'],
    ['bad_json', 'terminal'],
    ['empty_body', 'terminal'],
    ['unauthorized', 'terminal'],
    ['forbidden', 'terminal'],
    ['bad_origin', 'terminal'],
    ['not_found', 'terminal'],
    ['unsupported_type', 'terminal'],
    ['rate_limited', 'reconnect'],
    ['unavailable', 'reconnect'],
    ['server_full', 'reconnect'],
    ['room_full', 'reconnect'],
    ['too_many_rooms', 'reconnect'],
    ['outcome_unknown', 'reconnect'],
    ['internal', 'reconnect'],
  ] as const)('says whether %s is worth a retry: %s', (code, retry) => expect(Refusals[code].retry).toBe(retry))

  it('fills a refusal from the table, with a message and Retry-After of its own when given', () => {
    expect(refusal('room_full')).toEqual({ status: 503, error: 'room_full', message: Refusals.room_full.message, retryAfter: 5 })
    expect(refusal('rate_limited', 'slow down', 2)).toEqual({ status: 429, error: 'rate_limited', message: 'slow down', retryAfter: 2 })
    expect(refusal('bad_room')).toEqual({ status: 400, error: 'bad_room', message: Refusals.bad_room.message })
  })
})

describe('refusalResponse', () => {
  const headersOf = (code: RefusalCode) => {
    const res = refusalResponse(code)
    return {
      status: res.status,
      error: res.headers.get('x-roomcast-error'),
      retryAfter: res.headers.get('retry-after'),
      auth: res.headers.get('www-authenticate'),
    }
  }

  it('answers with {error, message} as JSON and the code in X-Roomcast-Error', async () => {
    const res = refusalResponse('bad_request', '"since" must be a non-negative integer')
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('x-roomcast-error')).toBe('bad_request')
    expect(await res.json()).toEqual({ error: 'bad_request', message: '"since" must be a non-negative integer' })
  })

  it('adds Retry-After on 429 and 503 and WWW-Authenticate on 401, and neither elsewhere', () => {
    expect(headersOf('rate_limited')).toEqual({ status: 429, error: 'rate_limited', retryAfter: '1', auth: null })
    expect(headersOf('room_full')).toEqual({ status: 503, error: 'room_full', retryAfter: '5', auth: null })
    expect(headersOf('unauthorized')).toEqual({ status: 401, error: 'unauthorized', retryAfter: null, auth: 'Bearer realm="roomcast"' })
    expect(headersOf('forbidden')).toEqual({ status: 403, error: 'forbidden', retryAfter: null, auth: null })
  })

  it('keeps the Retry-After a refusal carries', () => {
    expect(refusalResponse(refusal('unavailable', 'redis down', 9)).headers.get('retry-after')).toBe('9')
  })
})
