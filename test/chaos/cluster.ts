/**
 * What a chaos run talks to: one Redis of its own (append-only file, fsynced
 * on every write, in a temp dir, on a free port) and instances of roomcast on
 * ports of their own, so a killed instance comes back where its clients look
 * for it. Every process is started here and stopped by its PID.
 */
import { OwnRedis, freePort, uniquePrefix } from '../support/redis.ts'
import type { ServerHandle } from '../support/server.ts'
import { spawnServer } from '../support/server.ts'

/** The runtimes an instance can run on. */
export type Runtime = 'node' | 'deno'

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

const START = {
  node: (env: Record<string, string>) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node.ts'], env }),
  deno: (env: Record<string, string>) => spawnServer({ cmd: 'node_modules/.bin/deno', args: ['task', 'start'], env, timeoutMs: 60_000 }),
}

/** Redis and the instances over it. */
export class Cluster {
  private constructor(
    readonly redis: OwnRedis,
    readonly instances: Instance[],
    private readonly env: Record<string, string>,
  ) {}

  /** Start Redis, then one instance per runtime listed, all on the same key prefix. */
  static async start(runtimes: Runtime[], env: Record<string, string> = {}): Promise<Cluster> {
    const redis = await OwnRedis.start(true)
    const full = { ...CHAOS_ENV, ...env, REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('chaos') }
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
        inst.handle = await START[inst.runtime]({ ...this.env, PORT: String(inst.port) })
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
    this.redis.pause()
    try {
      await new Promise((r) => setTimeout(r, ms))
    } finally {
      this.redis.resume()
    }
  }

  /** SIGKILL Redis and start it again on its port and files: it reloads its append-only file. */
  async restartRedis(): Promise<void> {
    await this.redis.stop('SIGKILL')
    await this.redis.restart()
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
    await this.redis.dispose()
  }

  private at(i: number): Instance {
    const inst = this.instances[i]
    if (inst === undefined) throw new Error(`no instance ${i}`)
    return inst
  }
}
