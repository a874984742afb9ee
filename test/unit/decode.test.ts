import { describe, expect, it } from 'vitest'
import { decodeClientFrame } from '../../src/index.ts'

describe('decodeClientFrame', () => {
  it.each([
    ['{"type":"ping"}', { type: 'ping' }],
    ['{"type":"publish","data":1}', { type: 'publish', data: 1 }],
    ['{"type":"publish","data":"s","id":"a"}', { type: 'publish', data: 's', id: 'a' }],
    ['{"type":"publish","data":null}', { type: 'publish', data: null }],
    ['{"type":"publish","data":{"x":[1]},"seq":5,"from":"me"}', { type: 'publish', data: { x: [1] } }],
  ])('accepts %s', (text, frame) => {
    const d = decodeClientFrame(text)
    expect(d).toEqual({ ok: true, frame, ...(frame.type === 'publish' ? { dataJson: JSON.stringify((frame as any).data) } : {}) })
  })

  it('serialises publish data once, for fan-out', () => {
    const d = decodeClientFrame('{"type":"publish","data":{ "a" : 1 }}')
    expect(d.ok && d.dataJson).toBe('{"a":1}')
  })

  it.each([
    ['', 'bad_json'],
    ['{', 'bad_json'],
    ['[]', 'bad_frame'],
    ['1', 'bad_frame'],
    ['null', 'bad_frame'],
    ['{}', 'bad_frame'],
    ['{"type":5}', 'bad_frame'],
    ['{"type":"nope"}', 'bad_frame'],
    ['{"type":"publish"}', 'bad_frame'],
    ['{"type":"publish","data":1,"id":""}', 'bad_frame'],
    ['{"type":"publish","data":1,"id":7}', 'bad_frame'],
    [`{"type":"publish","data":1,"id":"${'x'.repeat(257)}"}`, 'bad_frame'],
  ])('refuses %j with %s', (text, code) => {
    const d = decodeClientFrame(text)
    expect(d.ok).toBe(false)
    if (!d.ok) {
      expect(d.code).toBe(code)
      expect(d.message.length).toBeGreaterThan(0)
    }
  })

  it('keeps the id on a refused frame so the client can match it', () => {
    expect(decodeClientFrame('{"type":"publish","id":"q"}')).toMatchObject({ ok: false, id: 'q' })
  })

  it('does not read "type" through the prototype', () => {
    expect(decodeClientFrame('{"__proto__":{"type":"ping"}}')).toMatchObject({ ok: false, code: 'bad_frame' })
    expect(({} as Record<string, unknown>).type).toBeUndefined()
  })

  it('turns data nested too deeply to re-serialise into bad_frame, not a throw', () => {
    const depth = 200_000
    const d = decodeClientFrame('{"type":"publish","data":' + '['.repeat(depth) + ']'.repeat(depth) + '}')
    expect(d.ok).toBe(false)
  })
})
