/**
 * Event-loop lag by timer drift: a timer asked for every `intervalMs` fires
 * late by as long as the loop was busy. Works on every runtime (none of Node's
 * perf_hooks needed); the timer is unref'd where the runtime allows it.
 */

/** How many recent probes the reading covers: the worst of the last few seconds, so a scrape every 15 s still sees spikes. */
const KEPT = 10

/** Measures how late a repeating timer fires. */
export class LagProbe {
  private timer: unknown = undefined
  private readonly recent: number[] = []

  constructor(
    private readonly intervalMs = 500,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Start probing (again a no-op while running). */
  start(): void {
    if (this.timer === undefined) this.schedule()
  }

  /** Stop probing. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer as Parameters<typeof clearTimeout>[0])
    this.timer = undefined
  }

  /** The largest drift of the last probes, in seconds; 0 before the first. */
  get seconds(): number {
    let max = 0
    for (const ms of this.recent) if (ms > max) max = ms
    return max / 1000
  }

  /** Record one probe's drift in milliseconds (exposed for tests). */
  record(ms: number): void {
    this.recent.push(Math.max(0, ms))
    if (this.recent.length > KEPT) this.recent.shift()
  }

  private schedule(): void {
    const at = this.now()
    const t = setTimeout(() => {
      this.record(this.now() - at - this.intervalMs)
      this.schedule()
    }, this.intervalMs)
    // Node and Bun: the probe must not keep the process alive by itself.
    ;(t as { unref?: () => void }).unref?.()
    this.timer = t
  }
}
