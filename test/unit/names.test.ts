import { describe, expect, it } from 'vitest'
import { isRoomName } from '../../src/index.ts'

describe('isRoomName', () => {
  it.each(['a', 'lobby', 'A-z_0.9', 'x'.repeat(64)])('accepts %s', (n) => expect(isRoomName(n)).toBe(true))
  it.each(['', 'x'.repeat(65), 'a b', 'a/b', 'é', 'a;b', '..%2F'])('refuses %j', (n) => expect(isRoomName(n)).toBe(false))
})
