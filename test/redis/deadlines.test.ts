/** The Redis adapter's one-timer deadline over publishes (adapters/redis/deadlines.ts). */
import { describe, expect, it } from 'vitest'
import { Deadlines } from '../../adapters/redis/deadlines.ts'

const late = () => new Error('late')
const never = new Promise<number>(() => {})

describe('Deadlines', () => {
  it('passes on what settles in time, value or error', async () => {
    const d = new Deadlines(1000, 10)
    await expect(d.within(Promise.resolve(7), late)).resolves.toBe(7)
    await expect(d.within(Promise.reject(new Error('no')), late)).rejects.toThrow('no')
  })

  it('rejects what has not settled once its time is up, in the order they were asked, and ignores a late outcome', async () => {
    const d = new Deadlines(50, 10)
    const order: string[] = []
    let settleLater: (v: number) => void = () => {}
    const later = new Promise<number>((r) => (settleLater = r))
    const a = d.within(never, () => new Error('a')).catch((e: Error) => void order.push(e.message))
    const b = d.within(later, () => new Error('b')).catch((e: Error) => void order.push(e.message))
    const c = d.within(Promise.resolve(1), late).then((v) => void order.push(`c=${v}`))
    await Promise.all([a, b, c])
    expect(order).toEqual(['c=1', 'a', 'b'])
    settleLater(2)
    await new Promise((r) => setTimeout(r, 20))
    expect(order).toEqual(['c=1', 'a', 'b'])
  })

  it('stops its timer when nothing waits, and starts it again for the next call', async () => {
    const d = new Deadlines(30, 10)
    await d.within(Promise.resolve(1), late)
    await new Promise((r) => setTimeout(r, 30))
    expect((d as unknown as { timer: unknown }).timer).toBeUndefined()
    await expect(d.within(never, late)).rejects.toThrow('late')
  })
})
