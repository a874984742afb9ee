/** Property tests of the json frame decoder: whatever arrives, it answers with a frame or a documented error, and never throws. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Errors, decodeClientFrame } from '../../src/index.ts'
import type { ErrorCode } from '../../src/index.ts'

/** The decoder's contract for one input: no throw; a rejection is an `error` frame code from the table (no close). */
function checkContract(text: string): ReturnType<typeof decodeClientFrame> {
  const d = decodeClientFrame(text)
  if (d.ok) {
    expect(['publish', 'ping']).toContain(d.frame.type)
    if (d.frame.type === 'publish') expect(d.dataJson).toBe(JSON.stringify(d.frame.data))
  } else {
    expect(Object.keys(Errors)).toContain(d.code)
    expect(Errors[d.code as ErrorCode].close).toBeNull()
    expect(typeof d.message).toBe('string')
    expect(d.message.length).toBeGreaterThan(0)
    if (d.id !== undefined) expect(typeof d.id).toBe('string')
  }
  return d
}

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'type', 'data', 'id']

/** JSON values whose object keys are often prototype names. */
const protoJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -1.5, '', 'publish', 'ping'),
    fc.string({ unit: 'binary' }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string()), tie('value'), { maxKeys: 5 }),
  ),
})).value

describe('decodeClientFrame (properties)', () => {
  it('never throws on arbitrary text, and every rejection is a table error code', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => void checkContract(s)), { numRuns: 2000 })
  })

  it('never throws on arbitrary JSON, at the top level or as publish data', () => {
    fc.assert(
      fc.property(fc.json({ stringUnit: 'binary' }), fc.jsonValue(), (json, data) => {
        checkContract(json)
        const d = checkContract(JSON.stringify({ type: 'publish', data }))
        expect(d.ok).toBe(true)
        if (d.ok) expect(d.dataJson).toBe(JSON.stringify(data))
      }),
      { numRuns: 1000 },
    )
  })

  it('accepts every well-formed publish and ping, keeping data and id exactly', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.option(fc.string({ minLength: 1, maxLength: 256 }), { nil: undefined }), (data, id) => {
        const frame: Record<string, unknown> = { type: 'publish', data }
        if (id !== undefined) frame.id = id
        const d = checkContract(JSON.stringify(frame))
        expect(d.ok).toBe(true)
        if (d.ok && d.frame.type === 'publish') {
          expect(d.frame.id).toBe(id)
          expect(d.dataJson).toBe(JSON.stringify(data))
        }
        expect(checkContract(JSON.stringify({ type: 'ping', id })).ok).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })

  it('treats prototype keys as plain data: no pollution, no type or data from a prototype', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...PROTO_KEYS), protoJson, { maxKeys: 6 }), protoJson, (top, nested) => {
        const text = JSON.stringify({ ...top, nested })
        checkContract(text)
        // Written by hand so "__proto__" is a real key in the text, not dropped by the object literal.
        checkContract(`{"__proto__":{"type":"publish","data":${JSON.stringify(nested)}},"x":1}`)
        expect(decodeClientFrame(`{"__proto__":{"type":"publish","data":1}}`).ok).toBe(false)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      { numRuns: 1000 },
    )
    checkContract('{"type":"publish","data":{"__proto__":{"polluted":true}}}')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  it('survives deep nesting at the top level and inside data', () => {
    for (const depth of [10, 1000, 10_000, 100_000, 1_000_000]) {
      checkContract('['.repeat(depth) + ']'.repeat(depth))
      checkContract('{"a":'.repeat(depth) + '1' + '}'.repeat(depth))
      const d = checkContract('{"type":"publish","data":' + '['.repeat(depth) + ']'.repeat(depth) + '}')
      if (!d.ok) expect(d).toMatchObject({ code: 'bad_frame', message: '"data" is nested too deeply' })
      if (depth === 1_000_000) expect(d.ok).toBe(false) // deep enough that re-serialising overflows the stack
      checkContract('['.repeat(depth)) // unterminated
    }
  })

  it('survives huge keys, many keys and huge ids', () => {
    const big = 'k'.repeat(1 << 20)
    checkContract(`{"${big}":1}`)
    checkContract(`{"type":"publish","data":{"${big}":"${big}"}}`)
    const many = '{' + Array.from({ length: 50_000 }, (_, i) => `"k${i}":${i}`).join(',') + ',"type":"ping"}'
    expect(checkContract(many).ok).toBe(true)
    const longId = checkContract(JSON.stringify({ type: 'publish', data: 1, id: 'i'.repeat(257) }))
    expect(longId).toMatchObject({ ok: false, code: 'bad_frame' })
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1000, maxLength: 5000 }), (key) => {
        checkContract(JSON.stringify({ type: 'publish', data: { [key]: key }, [key]: 1 }))
      }),
      { numRuns: 100 },
    )
  })
})
