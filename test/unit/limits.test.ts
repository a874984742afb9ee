import { describe, expect, it } from 'vitest'
import { countInWindow, exceedsBytes, takeToken } from '../../src/room/limits.ts'

describe('takeToken', () => {
  it('allows a burst, then the rate', () => {
    const b = { tokens: 3, at: 0 }
    expect([1, 2, 3, 4].map(() => takeToken(b, 0, 10, 3))).toEqual([true, true, true, false])
    expect(takeToken(b, 50, 10, 3)).toBe(false)
    expect(takeToken(b, 100, 10, 3)).toBe(true)
    expect(takeToken(b, 10_000, 10, 3)).toBe(true)
    expect(b.tokens).toBe(2)
  })
})

describe('countInWindow', () => {
  it('counts within a window and starts over after it', () => {
    const w = { count: 0, start: 0 }
    expect([0, 10, 999].map((t) => countInWindow(w, t, 1000))).toEqual([1, 2, 3])
    expect(countInWindow(w, 1000, 1000)).toBe(1)
  })
})

describe('exceedsBytes', () => {
  it.each([
    ['ascii at the limit', 'aaaa', 4, false],
    ['ascii over', 'aaaaa', 4, true],
    ['two-byte chars', 'éé', 4, false],
    ['two-byte chars over', 'ééé', 5, true],
    ['emoji (4 bytes)', '👋', 4, false],
    ['emoji over', '👋a', 4, true],
    ['bytes', new Uint8Array(5), 5, false],
    ['bytes over', new Uint8Array(6), 5, true],
  ] as const)('%s', (_n, data, max, over) => expect(exceedsBytes(data, max)).toBe(over))
})
