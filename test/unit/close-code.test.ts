import { describe, expect, it } from 'vitest'
import { replyCloseCode } from '../../src/index.ts'

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
