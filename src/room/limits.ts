/** Per-connection limit arithmetic: pure functions over plain counters, so they can be table-tested. */
import { utf8Length } from '../wire/bytes.ts'

/** A token bucket's state. */
export interface Bucket {
  tokens: number
  at: number
}

/** Take one token from `b` at time `now` (ms), refilling at `rate`/s up to `burst`. */
export function takeToken(b: Bucket, now: number, rate: number, burst: number): boolean {
  const elapsed = now - b.at
  if (elapsed > 0) {
    b.tokens = Math.min(burst, b.tokens + (elapsed * rate) / 1000)
    b.at = now
  }
  if (b.tokens >= 1) {
    b.tokens -= 1
    return true
  }
  return false
}

/** A count that resets when its window has passed. */
export interface Window {
  count: number
  start: number
}

/** Count one event in `w` at `now`; returns the count within the current window of `ms`. */
export function countInWindow(w: Window, now: number, ms: number): number {
  if (now - w.start >= ms) {
    w.start = now
    w.count = 0
  }
  return ++w.count
}

/** Whether a frame is larger than `max` bytes, without encoding text unless it must. */
export function exceedsBytes(data: string | Uint8Array, max: number): boolean {
  if (typeof data !== 'string') return data.byteLength > max
  if (data.length > max) return true
  if (data.length * 3 <= max) return false
  return utf8Length(data) > max
}
