/**
 * The faults of a chaos run, planned up front from its seed (so `--seed`
 * reproduces the same schedule): cuts of single client connections (both
 * directions by reset or by silence, or one direction only) every few
 * seconds, and, one at a time with time to recover between them, an instance
 * SIGKILLed and restarted, Redis SIGSTOPped for 8 s, and Redis restarted;
 * on a Redis Cluster, instead of the Redis faults: a room's master SIGKILLed
 * (restarted once its replica took over, so it rejoins as a replica), a
 * room's master SIGSTOPped past the node timeout (failed over while frozen),
 * a room's replica SIGKILLed and restarted, and a room's slot moved to
 * another master.
 */
import type { Random } from './random.ts'

/** A fault on one client's connection, through its own TCP proxy. */
export type ClientFault = 'reset' | 'silence' | 'cut-to-client' | 'cut-to-server'
/** A fault of the system the clients talk to. */
export type ClusterFault = 'kill-instance' | 'stop-redis' | 'restart-redis' | RedisClusterFault
/** A fault of a Redis Cluster's nodes, aimed at the shard of one room. */
export type RedisClusterFault = 'kill-master' | 'stop-master' | 'kill-replica' | 'move-slot'

/** One planned fault. */
export interface Fault {
  /** Milliseconds from the start of the run. */
  at: number
  kind: ClientFault | ClusterFault
  /** The client (for a client fault), the instance (kill-instance) or the room whose shard it hits (a Redis Cluster fault), by index. */
  target?: number
  /**
   * How long it lasts: an instance down before its restart, Redis (or a master) stopped before SIGCONT,
   * a killed master down after its replica took over, a killed replica down.
   */
  durationMs?: number
  /** move-slot: which of the other masters the room's slot moves to, by index in port order. */
  to?: number
}

/** What the plan is made for. */
export interface PlanOptions {
  durationMs: number
  clients: number
  instances: number
  /** Redis stays SIGSTOPped this long. */
  redisStopMs: number
  /** Rooms, for the Redis Cluster faults' targets (default 1). */
  rooms?: number
  /** A Redis Cluster master stays SIGSTOPped this long (past the node timeout, so it is failed over while frozen). */
  masterStopMs?: number
  /** The cluster faults this system can have (default all: wrangler dev has no Redis). */
  clusterFaults?: readonly ClusterFault[]
}

const CLIENT_FAULTS: readonly ClientFault[] = ['reset', 'silence', 'cut-to-client', 'cut-to-server']
/** Every cluster fault over one Redis. */
export const CLUSTER_FAULTS: readonly ClusterFault[] = ['kill-instance', 'stop-redis', 'restart-redis']
/** Every cluster fault over a Redis Cluster. */
export const REDIS_CLUSTER_FAULTS: readonly ClusterFault[] = ['kill-instance', 'kill-master', 'stop-master', 'kill-replica', 'move-slot']
/** How long a Redis Cluster fault takes to recover beyond its own duration (a failover, a resync), for the spacing. */
const RECOVERY_MS: Partial<Record<ClusterFault, number>> = { 'kill-master': 4000, 'stop-master': 2000, 'kill-replica': 1000, 'move-slot': 1000 }

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
    } else if (kind === 'kill-master' || kind === 'kill-replica') {
      fault.target = rng.int(0, (o.rooms ?? 1) - 1)
      fault.durationMs = rng.int(1000, 3000)
    } else if (kind === 'stop-master') {
      fault.target = rng.int(0, (o.rooms ?? 1) - 1)
      fault.durationMs = o.masterStopMs ?? 5000
    } else if (kind === 'move-slot') {
      fault.target = rng.int(0, (o.rooms ?? 1) - 1)
      fault.to = rng.int(0, 1)
    }
    out.push(fault)
    t += (fault.durationMs ?? 1000) + (RECOVERY_MS[kind] ?? 0) + rng.int(5000, 12_000)
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
  const target =
    f.target === undefined
      ? ''
      : f.kind === 'kill-instance'
        ? ` instance ${f.target}`
        : CLIENT_FAULTS.includes(f.kind as ClientFault)
          ? ` client ${f.target}`
          : ` room ${f.target}'s shard${f.to === undefined ? '' : ` (to the other master ${f.to})`}`
  const lasting = f.durationMs === undefined ? '' : ` for ${f.durationMs} ms`
  return `${at} ${f.kind}${target}${lasting}`
}
