import { describe, expect, it } from 'vitest'
import { replayFrom } from '../../src/index.ts'
import type { Entry } from '../../src/index.ts'

const entry = (seq: number, body = `m${seq}`): Entry => ({ seq, ts: 0, kind: 'text', body })

describe('replayFrom', () => {
  const head = { seq: 10, epoch: 'e1' }
  const retained = [6, 7, 8, 9, 10].map((s) => entry(s))
  it.each([
    ['up to date', 10, 'e1', [], true],
    ['within history', 7, 'e1', [8, 9, 10], true],
    ['exactly at the oldest boundary', 5, 'e1', [6, 7, 8, 9, 10], true],
    ['beyond history', 3, 'e1', [6, 7, 8, 9, 10], false],
    ['without an epoch, same numbering assumed', 8, undefined, [9, 10], true],
    ['another epoch: everything, incomplete', 8, 'old', [6, 7, 8, 9, 10], false],
    ['a since from the future', 12, 'e1', [], false],
  ] as const)('%s', (_name, since, epoch, seqs, complete) => {
    const r = replayFrom(retained, head, since, epoch)
    expect(r.entries.map((e) => e.seq)).toEqual(seqs)
    expect(r.complete).toBe(complete)
    expect(r.seq).toBe(10)
    expect(r.epoch).toBe('e1')
  })
})
