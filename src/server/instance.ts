/**
 * A roomcast instance for runtimes whose process holds its rooms (Node, Deno, Bun):
 * the Hub, the gateway and the Hono app, built from the user's options and what
 * the runtime's adapter supplies. `roomcast/node`, `roomcast/deno` and
 * `roomcast/bun` wrap this; an application calls theirs.
 */

import type { Hono } from 'hono'
import type { GetConnInfo } from 'hono/conninfo'
import type { UpgradeWebSocket } from 'hono/ws'
import { codeCountsFrom } from '../admin/counts.ts'
import type { RoomDirectory } from '../admin/directory.ts'
import type { Config } from '../config/config.ts'
import { readConfig } from '../config/config.ts'
import type { Hooks } from '../hooks/hooks.ts'
import type { LogFactory } from '../log/room-log.ts'
import { Ops } from '../ops/ops.ts'
import type { RoomStats } from '../room/room.ts'
import type { RosterPage } from '../room/roster.ts'
import type { Fanout } from '../room/topics.ts'
import type { RoomsApi } from './api.ts'
import { hubApi } from './api.ts'
import type { AppEnv, AppOptions, AuthMode, Health } from './app.ts'
import { createApp } from './app.ts'
import { Hub } from './hub.ts'
import type { WrapSocket } from './hub-gateway.ts'
import { hubGateway } from './hub-gateway.ts'
import type { ShutdownHooks } from './shutdown.ts'
import { gracefulShutdown } from './shutdown.ts'

/** What an application passes to `createRoomcast` on any runtime. */
export interface RoomcastOptions {
  /** Variables to read settings from, by their documented names (`process.env`, `Deno.env.toObject()`); default: none. */
  env?: Record<string, string | undefined>
  /** Settings that win over `env`. */
  config?: Partial<Config>
  /** The application's hooks (`authorize`, `message`, `joined`, `left`). */
  hooks?: Hooks
  /** `after` (default): `authorize` runs after the built-in token check; `replace`: it alone decides who gets in. */
  auth?: AuthMode
  /** Where rooms keep seq and history across instances (a `RedisBackend` from `roomcast/redis`); default: memory. */
  backend?: Backend
  /** Where unexpected errors go; default: the instance's log (`ops.log`). */
  onError?: (err: unknown) => void
  /**
   * The instance's metrics and logs (`GET /metrics`, the JSON or text lines); default: read from `env`
   * (METRICS_TOKEN, METRICS_PORT, LOG_FORMAT, LOG_LEVEL). With METRICS_PORT the app leaves `/metrics` to
   * a listener of the application's own (`createMetricsApp(rc.ops)`).
   */
  ops?: Ops
}

/** A backend that spans instances (Redis): the rooms' logs, its health, and stats of rooms open elsewhere. */
export interface Backend {
  logs: LogFactory
  health(): Health
  statsElsewhere?(room: string): Promise<RoomStats>
  /** A page of the v2 roster of a room open elsewhere only (`GET /rooms/:room/presence`), read from the backend. */
  presenceElsewhere?(room: string, limit: number, cursor?: string): Promise<RosterPage>
  /** The rooms of every instance, for the admin API (a RedisBackend has one). */
  directory?: RoomDirectory
  /** Release its connections, waiting at most `graceMs`. */
  close?(graceMs?: number): Promise<unknown>
}

/** What a runtime's adapter supplies to build an instance; `T` is its socket, `U` its upgrade options. */
export interface HubRuntime<T = unknown, U = unknown> {
  /** The runtime's Hono `upgradeWebSocket` (or one of roomcast's own, as on Node and Bun). */
  upgradeWebSocket: UpgradeWebSocket<T, U>
  /** Turns the runtime's socket into a core Connection. */
  wrap: WrapSocket
  /** Passed to `upgradeWebSocket` with every upgrade. */
  upgradeOptions?: U
  /** The runtime's Hono `getConnInfo`, for per-address upgrade limits. */
  getConnInfo?: GetConnInfo
  /** The runtime's native one-to-many send, where it has one (Bun's topics). */
  fanout?: Fanout
  /** WebSockets still open (their close handshakes not done), for shutdown. */
  openSockets(): number
  /** The request target as the client sent it, where the runtime keeps it (see AppOptions.requestTarget). */
  requestTarget?: AppOptions['requestTarget']
}

/** One roomcast instance: mount `app` in the application's Hono app, under any prefix; `publish`, `stats`, `rooms` and `disconnect` reach its rooms from the application's code. */
export interface Roomcast extends RoomsApi {
  /** The Hono app: rooms (WebSocket and HTTP), health, the chat page. `app.route('/live', rc.app)` mounts it. */
  readonly app: Hono<AppEnv>
  /** The settings in force. */
  readonly config: Config
  /** This process's rooms. */
  readonly hub: Hub
  /** The hooks the instance was built with (an empty object when none). */
  readonly hooks: Hooks
  /** The backend passed in, if any. */
  readonly backend: Backend | undefined
  /** This instance's metrics and log. */
  readonly ops: Ops
  /** WebSockets still open on this instance, counting those closing. */
  openSockets(): number
  /**
   * A signal handler for graceful shutdown (see `gracefulShutdown`): the server's part comes from the
   * application (`stopAccepting`, `exit`); the sockets and the backend are the instance's.
   */
  shutdown(server: Omit<ShutdownHooks, 'openSockets'>): (signal: string) => Promise<void>
}

/** The settings of an instance: `env` read by the documented names, `config` laid over them. */
export function resolveConfig(options: Pick<RoomcastOptions, 'env' | 'config'>): Config {
  const config = readConfig(options.env ?? {})
  return options.config === undefined ? config : { ...config, ...options.config }
}

/** Build an instance over a Hub; `runtime` is given the settings, since some transports are sized by them. */
export function createHubRoomcast<T, U>(options: RoomcastOptions, runtime: (config: Config) => HubRuntime<T, U>): Roomcast {
  const config = resolveConfig(options)
  const rt = runtime(config)
  const { backend, hooks = {} } = options
  // Bad LOG_* or METRICS_* values throw ConfigError here, as bad settings do in resolveConfig.
  const ops = options.ops ?? Ops.fromEnv(options.env ?? {})
  const hub = new Hub({
    config,
    logs: backend?.logs,
    statsElsewhere: backend?.statsElsewhere,
    presenceElsewhere: backend?.presenceElsewhere,
    fanout: rt.fanout,
    onError: options.onError,
    hooks,
    directory: backend?.directory,
    // The dashboard's refusals and closes by code, read from this instance's metrics.
    counts: codeCountsFrom(() => ops.metrics.families()),
    ops,
  })
  const appOptions: AppOptions = {
    config,
    gateway: hubGateway(hub, rt.upgradeWebSocket, rt.wrap, rt.upgradeOptions),
    getConnInfo: rt.getConnInfo,
    hooks,
    auth: options.auth,
    ops,
  }
  if (options.onError !== undefined) appOptions.onError = options.onError
  if (rt.requestTarget !== undefined) appOptions.requestTarget = rt.requestTarget
  if (backend !== undefined) appOptions.health = () => backend.health()
  const app = createApp(appOptions)
  // The sweep's timer does not hold the process open (unref'd where the runtime can).
  hub.start()
  return {
    ...hubApi(hub),
    app,
    config,
    hub,
    hooks,
    backend,
    ops,
    openSockets: () => rt.openSockets(),
    shutdown: (server) =>
      gracefulShutdown(hub, {
        ...server,
        openSockets: rt.openSockets,
        finish: () => Promise.all([server.finish?.(), backend?.close?.(500)]),
      }),
  }
}
