/**
 * The faults of a chaos run, planned up front from its seed (so `--seed`
 * reproduces the same schedule): cuts of single client connections (both
 * directions by reset or by silence, or one direction only) every few
 * seconds, and, one at a time with time to recover between them, an instance
 * SIGKILLed and restarted, Redis SIGSTOPped for 8 s, and Redis restarted.
 */
import type { Random } from './random.ts'

/** A fault on one client's connection, through its own TCP proxy. */
export type ClientFault = 'reset' | 'silence' | 'cut-to-client' | 'cut-to-server'
/** A fault of the system the clients talk to. */
export type ClusterFault = 'kill-instance' | 'stop-redis' | 'restart-redis'

/** One planned fault. */
export interface Fault {
  /** Milliseconds from the start of the run. */
  at: number
  kind: ClientFault | ClusterFault
  /** The client (for a client fault) or the instance (kill-instance), by index. */
  target?: number
  /** How long it lasts: an instance down before its restart, Redis stopped before SIGCONT. */
  durationMs?: number
}

/** What the plan is made for. */
export interface PlanOptions {
  durationMs: number
  clients: number
  instances: number
  /** Redis stays SIGSTOPped this long. */
  redisStopMs: number
  /** The cluster faults this system can have (default all: wrangler dev has no Redis). */
  clusterFaults?: readonly ClusterFault[]
}

const CLIENT_FAULTS: readonly ClientFault[] = ['reset', 'silence', 'cut-to-client', 'cut-to-server']
/** Every cluster fault. */
export const CLUSTER_FAULTS: readonly ClusterFault[] = ['kill-instance', 'stop-redis', 'restart-redis']

/**
 * The schedule of a run: every cluster fault and every client fault at least
 * once (in a random order) where the run is long enough, more at random after
 * that; client faults every 1.5 to 4 s. No fault starts in the last 10% of the run, so it ends on a quiet system.
 */
export function planFaults(rng: Random, o: PlanOptions): Fault[] {
  const out: Fault[] = []
  const end = o.durationMs * 0.9
  // Cluster faults, one at a time: each waits for the one before to end, and 5 to 12 s more to recover.
  const kinds = o.clusterFaults ?? CLUSTER_FAULTS
  const first: ClusterFault[] = rng.shuffle(kinds)
  // Later ones at random, an instance kill twice as likely as each Redis fault.
  const later = kinds.flatMap((k) => (k === 'kill-instance' ? [k, k] : [k]))
  let t = rng.int(3000, 6000)
  for (let i = 0; t < end && later.length > 0; i++) {
    const kind: ClusterFault = first[i] ?? rng.pick(later)
    const fault: Fault = { at: t, kind }
    if (kind === 'kill-instance') {
      fault.target = rng.int(0, o.instances - 1)
      fault.durationMs = rng.int(500, 3000)
    } else if (kind === 'stop-redis') {
      fault.durationMs = o.redisStopMs
    }
    out.push(fault)
    t += (fault.durationMs ?? 1000) + rng.int(5000, 12_000)
  }
  const firstCuts = rng.shuffle(CLIENT_FAULTS)
  for (let c = rng.int(1500, 4000), i = 0; c < end; c += rng.int(1500, 4000), i++) {
    out.push({ at: c, kind: firstCuts[i] ?? rng.pick(CLIENT_FAULTS), target: rng.int(0, o.clients - 1) })
  }
  return out.sort((a, b) => a.at - b.at)
}

/** One line of the schedule, as printed. */
export function describeFault(f: Fault): string {
  const at = `t+${(f.at / 1000).toFixed(1)}s`.padEnd(9)
  const target = f.target === undefined ? '' : f.kind === 'kill-instance' ? ` instance ${f.target}` : ` client ${f.target}`
  const lasting = f.durationMs === undefined ? '' : ` for ${f.durationMs} ms`
  return `${at} ${f.kind}${target}${lasting}`
}
