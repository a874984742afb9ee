/** What bench/members.ts and its member processes (bench/members-client.ts) share: commands, reports, the clock, the latency buckets. */
/** Commands from bench/members.ts. */
export type MembersCommand =
  | { op: 'connect'; port: number; path: string; count: number; mode: 'raw' | 'json'; room: string; localAddress: string; concurrency: number }
  | { op: 'warmed' }
  | { op: 'phase'; first: number; count: number }
  | { op: 'result' }
  | { op: 'close' }

/** What a member process sends without being asked: the ids that reached every one of its members. */
export interface DoneReport {
  done: { id: number; last: number }[]
}

/** One phase's counts in this process; `histogram` holds every delivery's latency (see bucketOf). */
export interface PhaseCounts {
  members: number
  good: number
  duplicated: number
  reordered: number
  strange: number
  /** Last delivery of the phase, on the shared clock (ms). */
  lastAt: number
  histogram: Record<number, number>
}

/** The machine's monotonic clock in ms: performance.now() runs on it, but from a per-process origin. */
export const clockOffset = Number(process.hrtime.bigint()) / 1e6 - performance.now()
/** Milliseconds on the clock every process of the bench shares. */
export const sharedNow = () => performance.now() + clockOffset

/** Latency histogram buckets: 2% wide, from 1 µs. */
export function bucketOf(ms: number): number {
  return Math.max(0, Math.floor(Math.log(Math.max(ms, 0.001) * 1000) / Math.log(1.02)))
}

/** The upper edge of a bucket, in ms. */
export function bucketMs(bucket: number): number {
  return 1.02 ** (bucket + 1) / 1000
}
