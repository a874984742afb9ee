/**
 * The one conformance suite: wire behaviour written once, run against a live
 * server of every runtime. A runtime's test file only says how to start it
 * and which capabilities it has.
 */
import { afterAll, beforeAll, describe } from 'vitest'
import type { ServerHandle } from '../support/server.ts'
import { adminScenarios } from './admin.ts'
import { authScenarios } from './auth.ts'
import { dedupeScenarios } from './dedupe.ts'
import { handshakeScenarios } from './handshake.ts'
import { hostileScenarios } from './hostile.ts'
import { httpScenarios } from './http.ts'
import { jsonScenarios } from './json.ts'
import { lifecycleScenarios } from './lifecycle.ts'
import { limitScenarios } from './limits.ts'
import { logScenarios } from './logs.ts'
import { metricsScenarios } from './metrics.ts'
import { rawScenarios } from './raw.ts'
import { resumeScenarios } from './resume.ts'
import { v2Scenarios } from './v2.ts'

/** What a runtime can do. Switch one off only where the runtime truly cannot, with the reason beside it. */
export interface Capabilities {
  /** The server can see how many bytes a connection has not yet sent, so a reader that stops is closed with 1013. */
  slowConsumer: boolean
  /** SIGTERM closes every client with 1001 and the process exits 0. */
  gracefulShutdown: boolean
  /** The server pings, so a peer that vanished without closing is closed after IDLE_TIMEOUT_MS. */
  idleLiveness: boolean
  /** A text frame that is not valid UTF-8 is closed with 1007 (the runtime hands the core raw bytes or refuses them). */
  utf8Validation: boolean
  /**
   * A close code reaches a client that is still sending when the server closes it (a flood, a burst of bad
   * frames), because the server reads on until the client's close frame instead of resetting the connection.
   */
  closeCodeWhileClientSends: boolean
  /**
   * MAX_CONNECTIONS caps the members of one server instance (503 past it). Optional, default true;
   * false only where no instance holds every room (Cloudflare: each room is its own Durable Object).
   */
  instanceConnectionLimit?: boolean
  /**
   * The transport drops a client that never finishes its request head (slowloris). Optional, default true;
   * false where the runtime has no header timeout (Deno.serve: denoland/deno#3515).
   */
  closesSlowHandshakes?: boolean
  /**
   * A frame of any size past MAX_FRAME_BYTES is closed with 1009 and the reason `too_large: ...`. Optional,
   * default true; false where the transport refuses a frame far past the limit itself, with its own reason.
   */
  tooLargeReasonAtAnySize?: boolean
  /**
   * A request head reaches roomcast as the client sent it, so an odd upgrade request (a bad Host, no
   * Connection: Upgrade, a bad key or version, an absolute-form target) gets roomcast's own answer.
   * Optional, default true; false where the platform answers such requests itself.
   */
  oddRequestsReachApp?: boolean
  /**
   * A `.` or `..` segment in a request target (`/rooms/..`, `/rooms/%2e%2e`) reaches roomcast, or a place where
   * roomcast still sees it, before the URL parser resolves it away. Optional, default true; false where the
   * platform resolves it before any Worker code runs.
   */
  dotSegmentsReachApp?: boolean
  /**
   * One instance holds a set of rooms that MAX_ROOMS and HISTORY_TOTAL_BYTES bound. Optional, default true;
   * false where each room is its own object (Cloudflare: a Durable Object per room, its own memory and storage).
   */
  instanceRoomLimit?: boolean
  /**
   * Protocol v2 on `/`: one socket holds subscriptions to many rooms. Optional, default true; false where a
   * socket belongs to one room's process (Cloudflare: one Durable Object per room), which refuses v2 on `/`
   * with 400; v2 on a room's own URL (`/rooms/:room`) is served everywhere.
   */
  multiplexing?: boolean
  /**
   * `GET /admin/stats` carries a series of points sampled by the instance, for the dashboard's charts.
   * Optional, default true; false where no instance holds the rooms to sample (Cloudflare).
   */
  adminSeries?: boolean
  /**
   * `GET /metrics` serves this instance's metrics (METRICS_TOKEN, METRICS_PORT). Optional, default true;
   * false where there is no instance to count (Cloudflare: each room is its own Durable Object).
   */
  metrics?: boolean
  /** The server's output is one JSON line per event (LOG_FORMAT=json), readable from its process. Optional, default true. */
  structuredLogs?: boolean
  /**
   * The server prints its effective configuration once at start-up, and nothing but its own lines. Optional,
   * default true; false where the platform owns the process (Cloudflare: no code runs at start-up, and
   * wrangler prints its banner and request lines around the Worker's JSON lines).
   */
  startupLog?: boolean
}

/** A runtime under test. */
export interface Target {
  name: string
  caps: Capabilities
  /** Start a fresh server with these extra environment variables. */
  start(env: Record<string, string>): Promise<ServerHandle>
}

/** What scenarios see: the running server, the target, and the environment it was started with. */
export interface SuiteContext {
  server: ServerHandle
  target: Target
  env: Record<string, string>
}

/** Limits small enough that tests reach them quickly; every scenario assumes these. */
export const TEST_ENV: Record<string, string> = {
  MAX_BUFFERED_BYTES: String(256 * 1024),
  IDLE_TIMEOUT_MS: '3000',
  PING_INTERVAL_MS: '500',
  HISTORY_MESSAGES: '50',
  PRESENCE_INTERVAL_MS: '20',
  // Scenarios open many sockets and publish much from one address; the per-address limits have their own
  // scenarios (auth.ts, limits.ts).
  MAX_UPGRADES_PER_IP: '1000',
  MAX_PUBLISHES_PER_IP: '1000',
}

/** Register the whole suite for `target`. */
export function conformance(target: Target): void {
  describe(`conformance: ${target.name}`, () => {
    const ctx = { target, env: TEST_ENV } as SuiteContext
    beforeAll(async () => {
      ctx.server = await target.start(TEST_ENV)
    }, 120_000)
    afterAll(async () => {
      await ctx.server?.stop()
    }, 30_000)
    rawScenarios(ctx)
    jsonScenarios(ctx)
    resumeScenarios(ctx)
    httpScenarios(ctx)
    dedupeScenarios(ctx)
    hostileScenarios(ctx)
    handshakeScenarios(ctx)
    lifecycleScenarios(ctx)
    authScenarios(ctx)
    limitScenarios(ctx)
    v2Scenarios(ctx)
    adminScenarios(ctx)
    metricsScenarios(ctx)
    logScenarios(ctx)
  })
}
