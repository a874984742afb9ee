/**
 * Which sequence numbers a client has seen, so it can resume from the right
 * place and drop what it already has. A floor (every seq at or below it is
 * seen or known gone) plus the few seen above it: with several instances an
 * `ack` can overtake a lower-numbered `message`, and a single high-water mark
 * would then drop that message as a duplicate.
 */
export class SeqTracker {
  private seen = 0
  private readonly ahead = new Set<number>()
  private jump = false

  /** `maxAhead` bounds the set above the floor; past it, a gap is taken as lost for good. */
  constructor(private readonly maxAhead = 1024) {}

  /** Resume from here: every seq at or below it has been seen (or will never come). */
  get floor(): number {
    return this.seen
  }

  /** Start over at `seq`: a fresh join, where nothing at or before it is wanted. */
  reset(seq: number): void {
    this.seen = seq
    this.ahead.clear()
    this.jump = false
  }

  /**
   * A resume said `complete:false`: what lies between the floor and the next
   * seq that arrives is gone. `restarted`: the room's numbers started over
   * (another epoch), so nothing seen so far says anything about what comes.
   */
  gap(restarted: boolean): void {
    if (restarted) this.reset(0)
    this.jump = true
  }

  /** Record `seq`; false when it was seen before (a duplicate). */
  see(seq: number): boolean {
    if (this.jump) {
      this.jump = false
      if (seq - 1 > this.seen) this.raise(seq - 1)
    }
    if (seq <= this.seen || this.ahead.has(seq)) return false
    if (seq === this.seen + 1) this.raise(seq)
    else {
      this.ahead.add(seq)
      if (this.ahead.size > this.maxAhead) this.raise(Math.min(...this.ahead))
    }
    return true
  }

  /** Move the floor up to `seq`, then past whatever above it is already seen. */
  private raise(seq: number): void {
    this.seen = seq
    for (const s of this.ahead) if (s <= seq) this.ahead.delete(s)
    while (this.ahead.delete(this.seen + 1)) this.seen++
  }
}
