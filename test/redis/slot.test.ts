/** The cluster key slot roomcast computes is the one Redis computes (values from CLUSTER KEYSLOT on redis-server 7.0). */
import { describe, expect, it } from 'vitest'
import { keySlot } from '../../adapters/redis/slot.ts'

describe('keySlot', () => {
  it.each([
    ['somekey', 11058],
    ['foo{hash_tag}', 2515],
    ['bar{hash_tag}', 2515],
    ['123456789', 12739],
    ['foo{}bar', 14292],
    ['{a}{b}', 15495],
    ['x{}{y}', 14166],
    ['roomcast:{lobby}:meta', 10294],
    ['rc:{ü-é}:log', 218],
    ['{', 4092],
  ])('%s is in slot %i', (key, slot) => {
    expect(keySlot(key)).toBe(slot)
  })

  it("puts a room's keys and channel in one slot, whatever the prefix", () => {
    const slot = keySlot('{lobby}')
    for (const key of ['roomcast:{lobby}:meta', 'roomcast:{lobby}:log', 'roomcast:{lobby}:presence', 'other:{lobby}:ch']) expect(keySlot(key)).toBe(slot)
  })
})
