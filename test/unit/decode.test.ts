import { describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH, decodeClientFrame, nestedTooDeeply } from '../../src/index.ts'

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

  it('takes data nested MAX_JSON_DEPTH deep and refuses one level more, with its id, brackets inside strings not counted', () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n)
    expect(decodeClientFrame(`{"type":"publish","data":${nest(MAX_JSON_DEPTH)},"id":"a"}`).ok).toBe(true)
    expect(decodeClientFrame(`{"type":"publish","data":${nest(MAX_JSON_DEPTH + 1)},"id":"a"}`)).toEqual({
      ok: false,
      code: 'bad_frame',
      message: `"data" is nested more than ${MAX_JSON_DEPTH} levels deep`,
      id: 'a',
    })
    const brackets = JSON.stringify('['.repeat(5000) + '\\"{'.repeat(100))
    expect(decodeClientFrame(`{"type":"publish","data":[${brackets}]}`).ok).toBe(true)
  })
})

describe('nestedTooDeeply', () => {
  it('counts arrays and objects, not brackets in strings or escaped quotes', () => {
    expect(nestedTooDeeply('[[[]]]', 3)).toBe(false)
    expect(nestedTooDeeply('[[[[]]]]', 3)).toBe(true)
    expect(nestedTooDeeply('{"a":{"b":{"c":{}}}}', 3)).toBe(true)
    expect(nestedTooDeeply('["[[[[\\"[[[["]', 3)).toBe(false)
    expect(nestedTooDeeply('[[],[],[],[],[]]', 3)).toBe(false)
  })
})
