/**
 * What a chaos run talks to: one Redis of its own (append-only file, fsynced
 * on every write, in a temp dir, on a free port) and instances of roomcast on
 * ports of their own, so a killed instance comes back where its clients look
 * for it; or `wrangler dev` over a state directory of its own, restarted over
 * the same storage. Every process is started here and stopped by its PID.
 */
import { OwnRedis, freePort, uniquePrefix } from '../support/redis.ts'
import type { ServerHandle } from '../support/server.ts'
import { spawnServer } from '../support/server.ts'
import { WRANGLER, WRANGLER_ENV, removeDir, tempDir } from '../support/wrangler.ts'

/** The runtimes an instance can run on: Node and Deno over Redis, or Cloudflare's wrangler dev on its own. */
export type Runtime = 'node' | 'deno' | 'cloudflare'

/** One roomcast instance: where it listens and whether it is running. */
export interface Instance {
  name: string
  runtime: Runtime
  port: number
  handle: ServerHandle | undefined
  /** Everything earlier runs of this instance printed (a killed one's output is kept for the report). */
  output: string
}

/** Limits for the run: history that outlasts every outage, no rate limit in the way, fast liveness. */
export const CHAOS_ENV: Record<string, string> = {
  HISTORY_MESSAGES: '2000000',
  HISTORY_BYTES: String(512 * 1024 * 1024),
  RATE_LIMIT: '2000',
  RATE_BURST: '4000',
  MAX_UPGRADES_PER_IP: '100000',
  MAX_PUBLISHES_PER_IP: '100000',
  PING_INTERVAL_MS: '1000',
  IDLE_TIMEOUT_MS: '6000',
  PRESENCE_INTERVAL_MS: '200',
  PRESENCE_HEARTBEAT_MS: '500',
}

const START: Record<Runtime, (env: Record<string, string>, state: string) => Promise<ServerHandle>> = {
  node: (env) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'], env }),
  deno: (env) => spawnServer({ cmd: 'node_modules/.bin/deno', args: ['task', 'start'], env, timeoutMs: 60_000 }),
  // On its own port (so it comes back where its clients look) and over the same state directory every time.
  cloudflare: (env, state) => {
    const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', env.PORT ?? '0', '--inspector-port', '0', '--persist-to', state]
    for (const [k, v] of Object.entries(env)) if (k !== 'PORT') args.push('--var', `${k}:${v}`)
    return spawnServer({ cmd: process.execPath, args, env: WRANGLER_ENV, timeoutMs: 90_000, ready: /Ready on https?:\/\/[^:\s]+:(\d+)/ })
  },
}

/** Redis and the instances over it. */
export class Cluster {
  /** A Durable Object's storage across wrangler dev restarts. */
  private readonly state = tempDir('roomcast-chaos-cf-')

  private constructor(
    /** Absent for wrangler dev, whose rooms keep their own storage. */
    readonly redis: OwnRedis | undefined,
    readonly instances: Instance[],
    private readonly env: Record<string, string>,
  ) {}

  /** Start Redis (unless only wrangler dev runs), then one instance per runtime listed, all on the same key prefix. */
  static async start(runtimes: Runtime[], env: Record<string, string> = {}): Promise<Cluster> {
    const redis = runtimes.some((r) => r !== 'cloudflare') ? await OwnRedis.start(true) : undefined
    const full = redis === undefined ? { ...CHAOS_ENV, ...env } : { ...CHAOS_ENV, ...env, REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('chaos') }
    const instances: Instance[] = []
    for (const [i, runtime] of runtimes.entries()) instances.push({ name: `${runtime}-${i}`, runtime, port: await freePort(), handle: undefined, output: '' })
    const cluster = new Cluster(redis, instances, full)
    try {
      await Promise.all(instances.map((_, i) => cluster.restart(i)))
    } catch (err) {
      await cluster.stop()
      throw err
    }
    return cluster
  }

  /** Whether instance `i` is running. */
  up(i: number): boolean {
    return this.instances[i]?.handle !== undefined
  }

  /** SIGKILL instance `i` (its whole process group). */
  async kill(i: number): Promise<void> {
    const inst = this.at(i)
    const handle = inst.handle
    inst.handle = undefined
    if (handle === undefined) return
    await handle.stop('SIGKILL')
    inst.output += handle.output()
  }

  /** Start instance `i` again on its port; a port still held by the dead process is retried for a while (bounded). */
  async restart(i: number): Promise<void> {
    const inst = this.at(i)
    if (inst.handle !== undefined) return
    let last: unknown
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        inst.handle = await START[inst.runtime]({ ...this.env, PORT: String(inst.port) }, this.state)
        return
      } catch (err) {
        last = err
        await new Promise((r) => setTimeout(r, 500))
      }
    }
    throw new Error(`instance ${inst.name} did not come back on port ${inst.port}: ${String(last)}`)
  }

  /** Freeze Redis (SIGSTOP) for `ms`, then let it go on (SIGCONT). */
  async stopRedis(ms: number): Promise<void> {
    const redis = this.needRedis()
    redis.pause()
    try {
      await new Promise((r) => setTimeout(r, ms))
    } finally {
      redis.resume()
    }
  }

  /** SIGKILL Redis and start it again on its port and files: it reloads its append-only file. */
  async restartRedis(): Promise<void> {
    const redis = this.needRedis()
    await redis.stop('SIGKILL')
    await redis.restart()
  }

  /** Every instance's output so far, for the report when something went wrong. */
  output(): string {
    return this.instances.map((inst) => `--- ${inst.name}\n${inst.output}${inst.handle?.output() ?? ''}`).join('\n')
  }

  /** Stop everything by PID: the instances (SIGTERM, then SIGKILL), then Redis and its files. */
  async stop(): Promise<void> {
    await Promise.all(
      this.instances.map(async (inst) => {
        const handle = inst.handle
        inst.handle = undefined
        if (handle === undefined) return
        await handle.stop('SIGTERM', 5000)
        inst.output += handle.output()
      }),
    )
    await this.redis?.dispose()
    removeDir(this.state)
  }

  private needRedis(): OwnRedis {
    if (this.redis === undefined) throw new Error('this run has no Redis')
    return this.redis
  }

  private at(i: number): Instance {
    const inst = this.instances[i]
    if (inst === undefined) throw new Error(`no instance ${i}`)
    return inst
  }
}
