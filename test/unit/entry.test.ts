import { describe, expect, it } from 'vitest'
import { entryBytes, parseEntry, serializeEntry } from '../../src/index.ts'

describe('entries in storage', () => {
  it('survive serialisation for storage backends, text and bytes alike', () => {
    const text = { seq: 3, ts: 9, kind: 'text' as const, body: 'héllo', from: 'ann' }
    const bin = { seq: 4, ts: 9, kind: 'binary' as const, body: new Uint8Array([0, 255, 7]), origin: 'c-1' }
    expect(parseEntry(serializeEntry(text))).toEqual(text)
    expect(parseEntry(serializeEntry(bin))).toEqual(bin)
  })
})

describe('entryBytes', () => {
  it('counts UTF-8 bytes of text and the length of bytes, for history budgets', () => {
    expect(entryBytes({ kind: 'text', body: 'héllo 👋', ts: 0 })).toBe(new TextEncoder().encode('héllo 👋').length)
    expect(entryBytes({ kind: 'binary', body: new Uint8Array(7), ts: 0 })).toBe(7)
  })
})
