/** The chaos run's check catches each way exactly-once can break: a duplicate, a gap, a reorder, a lie about a rejection, a stray message. */
import { describe, expect, it } from 'vitest'
import type { Outcome } from '../chaos/actors.ts'
import { Random } from '../chaos/random.ts'
import { planFaults } from '../chaos/schedule.ts'
import { verify } from '../chaos/verify.ts'

const resolved = (data: string, seq: number): Outcome => ({ data, room: 'r', settles: 1, seq })
const rejected = (data: string, code: string): Outcome => ({ data, room: 'r', settles: 1, code })
const member = (got: [number, string][], name = 'M') => ({ name, room: 'r', got: got.map(([seq, data]) => ({ seq, data })), missed: 0 })

describe('chaos verify', () => {
  it('passes a run where every member got every resolved seq once, in order', () => {
    const v = verify(
      [resolved('a', 1), resolved('b', 2), rejected('c', 'unavailable')],
      [
        member([
          [1, 'a'],
          [2, 'b'],
        ]),
      ],
      { r: 2 },
    )
    expect(v.violations).toEqual([])
    expect(v.counts).toMatchObject({ publishes: 3, resolved: 2, rejected: { unavailable: 1 }, received: { M: 2 } })
  })

  it.each([
    [
      'a message twice',
      [resolved('a', 1), resolved('b', 2)],
      [
        [1, 'a'],
        [1, 'a'],
        [2, 'b'],
      ],
      2,
      /twice or out of order/,
    ],
    [
      'a gap',
      [resolved('a', 1), resolved('b', 2), resolved('c', 3)],
      [
        [1, 'a'],
        [3, 'c'],
      ],
      3,
      /a gap/,
    ],
    ['a member behind the head', [resolved('a', 1), resolved('b', 2)], [[1, 'a']], 2, /got up to seq 1 of r's 2/],
    [
      'one message published twice',
      [resolved('a', 1)],
      [
        [1, 'a'],
        [2, 'a'],
      ],
      2,
      /published twice/,
    ],
    [
      'a rejected "not published" that was',
      [resolved('a', 1), rejected('b', 'unavailable')],
      [
        [1, 'a'],
        [2, 'b'],
      ],
      2,
      /reported not published/,
    ],
    [
      'a message nobody sent',
      [resolved('a', 1)],
      [
        [1, 'a'],
        [2, 'zzz'],
      ],
      2,
      /no publish in r sent/,
    ],
    ['a code the docs do not name', [rejected('a', 'weird')], [], 0, /undocumented code weird/],
  ] as const)('fails on %s', (_what, outcomes, got, head, message) => {
    const v = verify([...outcomes], [member(got.map(([s, d]) => [s, d]))], { r: head })
    expect(v.violations.join('\n')).toMatch(message)
  })

  it('fails a publish that settled twice or never, and two publishes resolved with one seq', () => {
    const v = verify([{ data: 'a', room: 'r', settles: 0 }, { ...resolved('b', 1), settles: 2 }, resolved('c', 1)], [], { r: 1 })
    expect(v.violations.join('\n')).toMatch(/a settled 0 times/)
    expect(v.violations.join('\n')).toMatch(/b settled 2 times/)
    expect(v.violations.join('\n')).toMatch(/c and b both resolved with seq 1/)
  })

  it('counts an outcome-open rejection as published when every member has it under one seq, and fails two seqs', () => {
    const ok = verify(
      [resolved('a', 1), rejected('b', 'connection_lost')],
      [
        member(
          [
            [1, 'a'],
            [2, 'b'],
          ],
          'M1',
        ),
        member(
          [
            [1, 'a'],
            [2, 'b'],
          ],
          'M2',
        ),
      ],
      { r: 2 },
    )
    expect(ok.violations).toEqual([])
    expect(ok.counts).toMatchObject({ openPublished: 1, openNotPublished: 0 })
    const twice = verify(
      [rejected('b', 'timeout'), resolved('a', 2)],
      [
        member([
          [1, 'b'],
          [2, 'a'],
          [3, 'b'],
        ]),
      ],
      { r: 3 },
    )
    expect(twice.violations.join('\n')).toMatch(/outcome open\) reached members as seq 1 and as seq 3/)
  })
})

describe('chaos schedule', () => {
  it('is the same for the same seed, and has every kind of fault in a minute', () => {
    const plan = (seed: number) => planFaults(new Random(seed), { durationMs: 60_000, clients: 12, instances: 3, redisStopMs: 8000 })
    expect(plan(42)).toEqual(plan(42))
    expect(plan(42)).not.toEqual(plan(43))
    for (const seed of [1, 2, 3, 42, 1234567]) {
      const kinds = new Set(plan(seed).map((f) => f.kind))
      expect(kinds.size, `seed ${seed}`).toBe(7)
      expect(plan(seed).every((f) => f.at < 54_000)).toBe(true)
    }
  })
})
