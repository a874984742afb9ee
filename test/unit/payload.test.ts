import { describe, expect, it } from 'vitest'
import { normaliseFrame, replyCloseCode } from '../../src/index.ts'

describe('replyCloseCode', () => {
  it.each([
    [1000, 1000],
    [1001, 1001],
    [4000, 4000],
    [1005, 1000],
    [1006, 1000],
    [1015, 1000],
  ])('answers a Close with %i with %i', (received, answered) => {
    expect(replyCloseCode(received)).toBe(answered)
  })
})

describe('normaliseFrame', () => {
  it.each([
    ['a string', 'hi', 'hi'],
    ['an ArrayBuffer', new Uint8Array([1, 2]).buffer, new Uint8Array([1, 2])],
    ['a view into a larger buffer', new Uint8Array([9, 1, 2, 9]).subarray(1, 3), new Uint8Array([1, 2])],
    ['a Blob (unreadable synchronously)', new Blob(['x']), null],
    ['anything else', 42, null],
  ] as const)('%s', (_n, input, out) => expect(normaliseFrame(input)).toEqual(out))
})
