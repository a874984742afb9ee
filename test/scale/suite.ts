/**
 * Scale-out scenarios: two real instances on ephemeral ports sharing one Redis
 * behave as one server. Written once; each runtime pairing's test file only
 * says how to start its instances.
 */
import { afterAll, beforeAll, describe } from 'vitest'
import { uniqueRoom } from '../support/client.ts'
import { REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.ts'
import type { ServerHandle } from '../support/server.ts'
import { SCALE_ADMIN_TOKEN, crossAdminScenarios } from './admin.ts'
import { crossDedupeScenarios } from './dedupe.ts'
import { crossDeliveryScenarios } from './delivery.ts'
import { crossPresenceScenarios } from './presence.ts'
import { crossRosterScenarios } from './roster.ts'

/** Starts one instance with these environment variables. */
export type Start = (env: Record<string, string>) => Promise<ServerHandle>

/** Where the instances share rooms: the Redis at REDIS_URL, or a cluster a test file started. */
export interface Shared {
  /** Fails (never skips) when it is not there. */
  prepare(): Promise<void>
  /** The variables that point an instance at it. */
  env(): Record<string, string>
  /** A fresh room name for a scenario; on a cluster, successive names land on successive shards. */
  room(): string
}

/** The shared Redis at REDIS_URL (`.ci/run` makes sure one answers). */
export const oneRedis: Shared = {
  prepare: () => requireRedis(),
  env: () => ({ REDIS_URL }),
  room: () => uniqueRoom(),
}

/** Two instances of the same system, and how to start more of it. */
export interface ScaleContext {
  a: ServerHandle
  b: ServerHandle
  env: Record<string, string>
  /** Start another instance of the same system (same Redis, same prefix), of A's runtime. */
  startA: Start
  /** The same, of B's runtime. */
  startB: Start
  /** A fresh room name (spread over the shards on a cluster). */
  room(): string
}

/** Small limits so tests reach them quickly, a short heartbeat so dead instances drop out fast. */
export const SCALE_ENV: Record<string, string> = {
  HISTORY_MESSAGES: '1000',
  PRESENCE_INTERVAL_MS: '20',
  PRESENCE_HEARTBEAT_MS: '250',
  // The concurrency scenario publishes hundreds of messages at once from each publisher.
  RATE_LIMIT: '5000',
  RATE_BURST: '5000',
  IDLE_TIMEOUT_MS: '10000',
  PING_INTERVAL_MS: '2000',
  ADMIN_TOKEN: SCALE_ADMIN_TOKEN,
}

/** Register the scale-out scenarios for instances started by `startA` and `startB`, sharing `shared` (default: one Redis). */
export function scaleOut(name: string, startA: Start, startB: Start, shared: Shared = oneRedis): void {
  describe(`scale-out: ${name}`, () => {
    const ctx = { startA, startB, room: () => shared.room() } as ScaleContext
    beforeAll(async () => {
      await shared.prepare()
      ctx.env = { ...SCALE_ENV, ...shared.env(), REDIS_PREFIX: uniquePrefix('scale') }
      ;[ctx.a, ctx.b] = await Promise.all([startA(ctx.env), startB(ctx.env)])
    }, 120_000)
    afterAll(async () => {
      await Promise.all([ctx.a?.stop(), ctx.b?.stop()])
    }, 30_000)
    crossDeliveryScenarios(ctx)
    crossDedupeScenarios(ctx)
    crossPresenceScenarios(ctx)
    crossRosterScenarios(ctx)
    crossAdminScenarios(ctx)
  })
}
