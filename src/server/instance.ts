/**
 * A roomcast instance for runtimes whose process holds its rooms (Node, Deno, Bun):
 * the Hub, the gateway and the Hono app, built from the user's options and what
 * the runtime's adapter supplies. `roomcast/node`, `roomcast/deno` and
 * `roomcast/bun` wrap this; an application calls theirs.
 */
import type { Hono } from 'hono'
import type { GetConnInfo } from 'hono/conninfo'
import type { UpgradeWebSocket } from 'hono/ws'
import type { Config } from '../config/config.ts'
import { readConfig } from '../config/config.ts'
import type { Hooks } from '../hooks/hooks.ts'
import type { LogFactory } from '../log/room-log.ts'
import type { RoomStats } from '../room/room.ts'
import type { Fanout } from '../room/topics.ts'
import type { AppEnv, AppOptions, Health } from './app.ts'
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
  /** The application's hooks (`authorize`, `message`). */
  hooks?: Hooks
  /** Where rooms keep seq and history across instances (a `RedisBackend` from `roomcast/redis`); default: memory. */
  backend?: Backend
  /** Where unexpected errors go; default: console.error. */
  onError?: (err: unknown) => void
}

/** A backend that spans instances (Redis): the rooms' logs, its health, and stats of rooms open elsewhere. */
export interface Backend {
  logs: LogFactory
  health(): Health
  statsElsewhere?(room: string): Promise<RoomStats>
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
}

/** One roomcast instance: mount `app` in the application's Hono app, under any prefix. */
export interface Roomcast {
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
  const hub = new Hub({ config, logs: backend?.logs, statsElsewhere: backend?.statsElsewhere, fanout: rt.fanout, onError: options.onError, hooks })
  const appOptions: AppOptions = {
    config,
    gateway: hubGateway(hub, rt.upgradeWebSocket, rt.wrap, rt.upgradeOptions),
    getConnInfo: rt.getConnInfo,
    hooks,
  }
  if (backend !== undefined) appOptions.health = () => backend.health()
  const app = createApp(appOptions)
  // The sweep's timer does not hold the process open (unref'd where the runtime can).
  hub.start()
  return {
    app,
    config,
    hub,
    hooks,
    backend,
    openSockets: () => rt.openSockets(),
    shutdown: (server) =>
      gracefulShutdown(hub, {
        ...server,
        openSockets: rt.openSockets,
        finish: () => Promise.all([server.finish?.(), backend?.close?.(500)]),
      }),
  }
}
