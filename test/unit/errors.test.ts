import { describe, expect, it } from 'vitest'
import { Errors, closeReason, closeReasonCode, encodeError } from '../../src/index.ts'

describe('the Errors table', () => {
  it('gives every code a retry class', () => {
    for (const [code, e] of Object.entries(Errors)) expect(['reconnect', 'terminal'], code).toContain(e.retry)
  })

  it.each([
    ['bad_json', 'terminal'],
    ['bad_frame', 'terminal'],
    ['forbidden', 'terminal'],
    ['too_large', 'terminal'],
    ['binary_unsupported', 'terminal'],
    ['unsupported_payload', 'terminal'],
    ['too_many_errors', 'terminal'],
    ['rate_limited', 'reconnect'],
    ['unavailable', 'reconnect'],
    ['flooding', 'reconnect'],
    ['room_full', 'reconnect'],
    ['backend_down', 'reconnect'],
    ['resync', 'reconnect'],
    ['slow_consumer', 'reconnect'],
    ['idle_timeout', 'reconnect'],
    ['token_expired', 'reconnect'],
    ['shutting_down', 'reconnect'],
    ['internal', 'reconnect'],
  ] as const)('says whether %s is worth a retry: %s', (code, retry) => expect(Errors[code].retry).toBe(retry))

  it('closes an unsupported payload with 1003', () => expect(Errors.unsupported_payload.close).toBe(1003))
})

describe('close reasons', () => {
  it('are "<code>: <message>", and the code reads back from one', () => {
    for (const code of Object.keys(Errors) as (keyof typeof Errors)[]) {
      const reason = closeReason(code)
      expect(reason).toBe(`${code}: ${Errors[code].message}`)
      // RFC 6455 caps a close reason at 123 bytes.
      expect(new TextEncoder().encode(reason).length, code).toBeLessThanOrEqual(123)
      expect(closeReasonCode(reason)).toBe(code)
    }
    expect(closeReason('internal', 'unknown connection')).toBe('internal: unknown connection')
  })

  it('read no code from a reason that names none of the table', () => {
    expect(closeReasonCode('')).toBeUndefined()
    expect(closeReasonCode('going away')).toBeUndefined()
    expect(closeReasonCode('constructor: x')).toBeUndefined()
  })
})

describe('error table', () => {
  it('gives every code a readable message and a close code in the RFC 6455 (and IANA-registered 1012, 1013) or private range', () => {
    for (const [code, e] of Object.entries(Errors)) {
      expect(e.message.length, code).toBeGreaterThan(5)
      if (e.close !== null) expect([1001, 1003, 1007, 1008, 1009, 1011, 1012, 1013].includes(e.close) || (e.close >= 4000 && e.close < 5000), code).toBe(true)
    }
  })

  it('encodes error frames with and without id', () => {
    expect(JSON.parse(encodeError('bad_json'))).toEqual({ type: 'error', code: 'bad_json', message: Errors.bad_json.message })
    expect(JSON.parse(encodeError('rate_limited', undefined, 'i'))).toMatchObject({ code: 'rate_limited', id: 'i' })
  })
})
