/**
 * Calls that must be answered within a fixed time, watched together: one
 * timer for all of them, not one per call. A publish is answered within the
 * command timeout even while ioredis holds it back behind an earlier
 * auto-pipelined batch that Redis has not answered (such a publish is sent
 * only when that batch gives up, so its own command timeout starts late).
 */

interface Pending {
  at: number
  settled: boolean
  expire: () => void
}

/** A first-in first-out watch over calls that share one time limit, checked every `checkEveryMs`. */
export class Deadlines {
  private queue: Pending[] = []
  private head = 0
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(
    private readonly ms: number,
    private readonly checkEveryMs = Math.max(10, Math.min(250, Math.floor(ms / 4))),
  ) {}

  /** `work`'s outcome, or a rejection with `late()` once `ms` have passed without one. */
  within<T>(work: Promise<T>, late: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { at: Date.now() + this.ms, settled: false, expire: () => reject(late()) }
      this.queue.push(p)
      if (this.timer === undefined) {
        this.timer = setInterval(() => this.check(), this.checkEveryMs)
        ;(this.timer as { unref?: () => void }).unref?.()
      }
      work.then(
        (v) => {
          p.settled = true
          resolve(v)
        },
        (err) => {
          p.settled = true
          reject(err)
        },
      )
    })
  }

  /** Expire what is due, drop what settled from the front, and stop the timer when nothing waits. */
  private check(now = Date.now()): void {
    // Every call has the same limit, so the queue is in deadline order: stop at the first one not due.
    while (this.head < this.queue.length) {
      const p = this.queue[this.head] as Pending
      if (!p.settled) {
        if (p.at > now) break
        p.settled = true
        p.expire()
      }
      this.head++
    }
    if (this.head === this.queue.length) {
      this.queue = []
      this.head = 0
      clearInterval(this.timer)
      this.timer = undefined
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }
}
