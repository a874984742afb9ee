import { describe, expect, it } from 'vitest'
import { hasDotSegment, isDotSegment, isRoomName } from '../../src/index.ts'

describe('isRoomName', () => {
  it.each(['a', 'lobby', 'A-z_0.9', 'x'.repeat(64), '...', '.a', 'a.', '.-'])('accepts %s', (n) => expect(isRoomName(n)).toBe(true))
  it.each(['', 'x'.repeat(65), 'a b', 'a/b', 'é', 'a;b', '..%2F'])('refuses %j', (n) => expect(isRoomName(n)).toBe(false))
  // A URL parser resolves these away (`/rooms/..` is `/`): as names they would be unreachable or aliases.
  it.each(['.', '..'])('refuses the dot segment %j', (n) => expect(isRoomName(n)).toBe(false))
})

describe('isDotSegment', () => {
  it.each(['.', '..', '%2e', '%2E', '.%2e', '%2e.', '%2E%2e', '%2e%2e'])('is true for %s', (s) => expect(isDotSegment(s)).toBe(true))
  it.each(['', '...', 'a', '.a', '%2e%2e%2e', '%2f', '%252e'])('is false for %j', (s) => expect(isDotSegment(s)).toBe(false))
})

describe('hasDotSegment', () => {
  it.each(['/rooms/..', '/rooms/%2e%2e', '/rooms/.', '/rooms/%2E/messages', '/rooms/a/../..', '/rooms\\..', 'http://h/rooms/..', '/rooms/..?x=1'])(
    'finds one in %s',
    (t) => expect(hasDotSegment(t)).toBe(true),
  )
  it.each(['/', '/rooms/lobby', '/rooms/...', '/rooms/a.b/messages', '/rooms/x?since=..', '/rooms/x#..', 'http://h.example/rooms/a'])('finds none in %s', (t) =>
    expect(hasDotSegment(t)).toBe(false),
  )
})
