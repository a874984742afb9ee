import { describe, expect, it } from 'vitest'
import { SeqTracker } from '../../src/client/seq-tracker.ts'

/** Feed seqs; return which were accepted and the floor after. */
function feed(t: SeqTracker, seqs: number[]): { accepted: number[]; floor: number } {
  return { accepted: seqs.filter((s) => t.see(s)), floor: t.floor }
}

describe('SeqTracker', () => {
  it.each([
    ['in order', [1, 2, 3], [1, 2, 3], 3],
    ['duplicates dropped', [1, 2, 2, 1, 3], [1, 2, 3], 3],
    ['an ack overtaking a lower message keeps the floor below the gap', [1, 3], [1, 3], 1],
    ['the late lower message is still accepted and closes the gap', [1, 3, 2], [1, 3, 2], 3],
    ['a replay of what arrived out of order is dropped', [1, 3, 2, 2, 3], [1, 3, 2], 3],
  ])('%s', (_name, seqs, accepted, floor) => {
    expect(feed(new SeqTracker(), seqs)).toEqual({ accepted, floor })
  })

  it('starts over at the welcome seq of a fresh join', () => {
    const t = new SeqTracker()
    t.reset(41)
    expect(feed(t, [41, 42])).toEqual({ accepted: [42], floor: 42 })
  })

  it('after complete:false in the same epoch, jumps the floor to the first seq that comes', () => {
    const t = new SeqTracker()
    feed(t, [1, 2])
    t.gap(false)
    expect(feed(t, [7, 8, 2])).toEqual({ accepted: [7, 8], floor: 8 })
  })

  it('after a restart (another epoch), accepts the new numbers from 1 again', () => {
    const t = new SeqTracker()
    feed(t, [1, 2, 3, 4])
    t.gap(true)
    expect(feed(t, [1, 2, 2])).toEqual({ accepted: [1, 2], floor: 2 })
  })

  it('gives up on a gap that never fills once too many seqs are ahead of it', () => {
    const t = new SeqTracker(3)
    expect(feed(t, [1, 3, 4, 5])).toEqual({ accepted: [1, 3, 4, 5], floor: 1 })
    expect(feed(t, [6])).toEqual({ accepted: [6], floor: 6 })
    expect(t.see(2)).toBe(false)
  })
})
