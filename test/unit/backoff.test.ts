import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../src/client/backoff.ts'

const opts = { initialDelayMs: 500, maxDelayMs: 10_000 }

describe('backoffDelay', () => {
  it.each([
    [0, 250, 500],
    [1, 500, 1000],
    [2, 1000, 2000],
    [4, 4000, 8000],
    [5, 5000, 10_000],
    [60, 5000, 10_000],
  ])('attempt %i waits between %i and %i ms', (attempt, low, high) => {
    expect(backoffDelay(attempt, opts, () => 0)).toBe(low)
    expect(backoffDelay(attempt, opts, () => 1)).toBe(high)
    const d = backoffDelay(attempt, opts)
    expect(d).toBeGreaterThanOrEqual(low)
    expect(d).toBeLessThanOrEqual(high)
  })
})
