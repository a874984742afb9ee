/**
 * `roomcast/cloudflare`: roomcast in a Cloudflare Worker, one Durable Object per room. Mount `rc.app`
 * in the Worker's own Hono app and export `rc.Room` under the class name wrangler.toml binds.
 */
import { env as workerEnv } from 'cloudflare:workers'
import type { Hono } from 'hono'
import { getConnInfo } from 'hono/cloudflare-workers'
import type {
  AppEnv,
  Config,
  ErrorCode,
  Health,
  Hooks,
  MemberFilter,
  PublishOptions,
  RoomGateway,
  RoomStats,
  RoomcastOptions,
  RoomsApi,
  RosterPage,
} from '../../src/index.ts'
import { Ops, Rejected, checkDisconnect, checkRoom, createApp, publishEntry, resolveConfig } from '../../src/index.ts'
import { objectAdmin } from './admin.ts'
import type { RegistryObject } from './registry.ts'
import type { RoomSettings } from './room.ts'
import { JOIN_HEADER, RoomObject, SESSION_HEADER } from './room.ts'

export { REGISTRY_NAME, RegistryObject } from './registry.ts'
export type { PublishAnswer, RoomSettings } from './room.ts'
export { JOIN_HEADER, RoomObject, SESSION_HEADER } from './room.ts'

/** What a Worker passes to `createRoomcast`. */
export interface CloudflareOptions extends Pick<RoomcastOptions, 'env' | 'config' | 'hooks' | 'auth' | 'onError'> {
  /** The Durable Object binding of the room class in wrangler.toml; default `ROOMS`. */
  binding?: string
  /**
   * The Durable Object binding of the room registry (`RegistryObject`), which rooms report to so the admin
   * API can list them; default `REGISTRY`. Without that binding there is no admin API.
   */
  registryBinding?: string
}

/**
 * roomcast in a Worker. `publish`, `stats` and `disconnect` go to the room's Durable Object by RPC; there is no
 * `rooms()`: each room is its own object, and no object knows the others without one they all report to.
 */
export interface CloudflareRoomcast extends Omit<RoomsApi, 'rooms'> {
  /** The Hono app: rooms (WebSocket and HTTP), health, the chat page. `app.route('/live', rc.app)` mounts it. */
  readonly app: Hono<AppEnv>
  /** The settings in force (the Worker's [vars] unless `env` or `config` say otherwise). */
  readonly config: Config
  /** The hooks the instance was built with (an empty object when none). */
  readonly hooks: Hooks
  /** The room Durable Object class, with these settings and hooks: export it under the class name wrangler.toml binds. */
  readonly Room: typeof RoomObject
}

/** A function from a room's name to its object's stub. */
function roomStub(namespace: () => DurableObjectNamespace<RoomObject>) {
  return (name: string) => {
    const rooms = namespace()
    return rooms.get(rooms.idFromName(name))
  }
}

/** Reach a room's object by name; the app has refused invalid names with 400 before any of these run. */
function objectGateway(namespace: () => DurableObjectNamespace<RoomObject>, registry: DurableObjectNamespace<RegistryObject> | undefined): RoomGateway {
  const room = roomStub(namespace)
  return {
    ...(registry === undefined ? {} : { admin: (health: () => Health) => objectAdmin(namespace(), registry, health) }),
    // The object refuses a full room itself, in the same call as the join.
    isFull: () => false,
    upgrade(c, name, join) {
      const headers = new Headers(c.req.raw.headers)
      headers.delete(SESSION_HEADER)
      // set, not append: a header of that name from the client is replaced, never trusted.
      headers.set(JOIN_HEADER, JSON.stringify(join))
      return room(name).fetch(new Request(c.req.url, { headers }))
    },
    // Protocol v2 on the room's URL: the room's object holds the socket and its session (there is no `connect`:
    // a socket spanning rooms would belong to no one room's object).
    connectRoom(c, name, session) {
      const headers = new Headers(c.req.raw.headers)
      headers.set(SESSION_HEADER, JSON.stringify(session))
      headers.delete(JOIN_HEADER)
      return room(name).fetch(new Request(c.req.url, { headers }))
    },
    presence: async (name, limit, cursor) => (await room(name).presence(limit, cursor)) as RosterPage,
    stats: async (name) => (await room(name).stats()) as RoomStats,
    async publish(name, kind, body, from, once) {
      const answer = await room(name).publish(kind, body, from, once)
      if ('seq' in answer) return answer
      throw new Rejected(answer.rejected, answer.message, answer.status)
    },
  }
}

const HEALTH: Health = { ready: true, backend: 'durable-objects' }

/**
 * Build roomcast for a Worker. Settings come from the Worker's env ([vars]) unless `env` is given,
 * with `config` laid over them; the rooms are reached through the `binding` namespace.
 */
export function createRoomcast(options: CloudflareOptions = {}): CloudflareRoomcast {
  const bindings = workerEnv as Record<string, unknown>
  const env = options.env ?? (bindings as Record<string, string | undefined>)
  const config = resolveConfig({ env, config: options.config })
  const hooks = options.hooks ?? {}
  const binding = options.binding ?? 'ROOMS'
  const namespace = () => {
    const ns = bindings[binding] as DurableObjectNamespace<RoomObject> | undefined
    if (ns === undefined) throw new Error(`roomcast: no Durable Object binding "${binding}" in this Worker's env (wrangler.toml)`)
    return ns
  }
  const app = createApp({
    config,
    gateway: objectGateway(namespace, bindings[options.registryBinding ?? 'REGISTRY'] as DurableObjectNamespace<RegistryObject> | undefined),
    // The client address from CF-Connecting-IP, which Cloudflare sets and a client cannot.
    getConnInfo,
    // Each room's storage is its own object's: nothing shared to be down.
    health: () => HEALTH,
    hooks,
    auth: options.auth,
    onError: options.onError,
    // Refusals as JSON lines through console.log (Workers Logs); no /metrics: an isolate holds no instance's rooms.
    ops: Ops.fromEnv(env),
    metricsRoute: false,
  })
  const settings: RoomSettings = { config, hooks, onError: options.onError }
  if (options.registryBinding !== undefined) settings.registryBinding = options.registryBinding
  const Room = class extends RoomObject {
    constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
      super(ctx, env, settings)
    }
  }
  const room = roomStub(namespace)
  return {
    app,
    config,
    hooks,
    Room,
    async publish(name: string, data: unknown, opts: PublishOptions = {}) {
      checkRoom(name)
      const { kind, body } = publishEntry(data, config.maxFrameBytes)
      return room(name).send(kind, body, opts.from)
    },
    async stats(name: string) {
      checkRoom(name)
      return (await room(name).stats()) as RoomStats
    },
    async disconnect(name: string, who: MemberFilter, code: ErrorCode = 'kicked') {
      checkRoom(name)
      checkDisconnect(who, code)
      return room(name).disconnect(who, code)
    },
  }
}
