/**
 * A real Redis Cluster for tests and benches: 3 masters and 3 replicas from
 * redis-server binaries in a temporary directory, on free ports, built with
 * `redis-cli --cluster create`, and stopped node by node by PID.
 */

import type { ChildProcess } from 'node:child_process'
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { keySlot } from '../../adapters/redis/slot.ts'
import { uniqueRoom } from './client.ts'
import { freePort, ping } from './redis.ts'

const run = promisify(execFile)

/** One redis-server of the cluster. */
export interface ClusterNode {
  port: number
  /** `127.0.0.1:PORT`, as REDIS_CLUSTER_NODES lists it. */
  address: string
  proc: ChildProcess | undefined
}

export interface ClusterOptions {
  masters?: number
  replicasPerMaster?: number
  /** `cluster-node-timeout`: how long a master may be silent before its replica takes over. */
  nodeTimeoutMs?: number
  /**
   * `cluster-require-full-coverage`: with `yes` (Redis's default) every shard refuses commands while one
   * shard has no master; roomcast's docs ask for `no`, so rooms on the other shards keep working.
   */
  fullCoverage?: boolean
  /**
   * `appendonly yes` with `appendfsync always` on every node (default off): a node killed and restarted
   * reloads what it had written, so a master back before its replica took over still holds every entry it
   * acked. Without it a master restarted within `cluster-node-timeout` comes back empty, and still a master.
   */
  appendonly?: boolean
}

/** Ask one node `redis-cli ...args`; resolves with its stdout. */
export async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })
  return stdout
}

/** A cluster this test owns. */
export class OwnCluster {
  readonly nodes: ClusterNode[]
  private readonly dir = mkdtempSync(join(tmpdir(), 'roomcast-cluster-'))
  private readonly output = new Map<number, string>()

  private constructor(
    ports: number[],
    private readonly options: Required<ClusterOptions>,
  ) {
    this.nodes = ports.map((port) => ({ port, address: `127.0.0.1:${port}`, proc: undefined }))
  }

  /** REDIS_CLUSTER_NODES for this cluster: every node, so a client finds it whichever is down. */
  get env(): string {
    return this.nodes.map((n) => n.address).join(',')
  }

  /** Start the nodes, join them into a cluster and wait until every node says `cluster_state:ok`. */
  static async start(options: ClusterOptions = {}): Promise<OwnCluster> {
    const o = { masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1500, fullCoverage: false, appendonly: false, ...options }
    const ports: number[] = []
    while (ports.length < o.masters * (1 + o.replicasPerMaster)) {
      const p = await freePort()
      // The cluster bus listens on port + 10000: both must be free, and no two nodes may share either.
      if (p > 55_000 || ports.includes(p) || ports.includes(p + 10_000) || ports.includes(p - 10_000)) continue
      if (!(await portFree(p + 10_000))) continue
      ports.push(p)
    }
    const c = new OwnCluster(ports, o)
    try {
      await Promise.all(c.nodes.map((n) => c.spawnNode(n)))
      const replicas = o.replicasPerMaster
      await run('redis-cli', ['--cluster', 'create', ...c.nodes.map((n) => n.address), '--cluster-replicas', String(replicas), '--cluster-yes'], {
        timeout: 60_000,
      })
      await c.waitOk()
    } catch (err) {
      await c.dispose()
      throw err
    }
    return c
  }

  /** Wait until every running node reports `cluster_state:ok` and agrees on as many masters as there are shards. */
  async waitOk(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const running = this.nodes.filter((n) => alive(n))
      const infos = await Promise.all(running.map((n) => cli(n.port, 'cluster', 'info').catch(() => '')))
      const ok = infos.every((i) => /cluster_state:ok/.test(i) && new RegExp(`cluster_size:${this.options.masters}\\b`).test(i))
      // And every master has its replicas (those still running) in the slot map, so a failover has somewhere to go.
      if (ok && (await this.replicasAttached())) return
      if (Date.now() > deadline) throw new Error(`cluster not ok within ${timeoutMs} ms:\n${infos.join('\n')}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** Every running node that is not a master is listed as a replica of one, on every running node's view. */
  private async replicasAttached(): Promise<boolean> {
    const running = this.nodes.filter((n) => alive(n)).map((n) => n.port)
    const masters = await this.masters().catch(() => [])
    const listed = new Set(masters.flatMap((m) => [m.port, ...m.replicas]))
    return masters.length === this.options.masters && running.every((p) => listed.has(p))
  }

  /** The current masters, by port, with the slot ranges each serves (from CLUSTER SHARDS on a running node). */
  async masters(): Promise<Shard[]> {
    const node = this.nodes.find((n) => alive(n))
    if (node === undefined) throw new Error('no node of the cluster is running')
    const out: Shard[] = []
    // CLUSTER SLOTS: one row per range, its master first, then its replicas.
    const text = await cli(node.port, '--json', 'cluster', 'slots').catch(() => '')
    const rows = text.trim() === '' ? [] : (JSON.parse(text) as [number, number, ...[string, number, string][]][])
    for (const [from, to, master, ...replicas] of rows) {
      if (master === undefined) continue
      let m = out.find((x) => x.port === master[1])
      if (m === undefined) {
        m = { port: master[1], slots: [], replicas: replicas.map((r) => r[1]) }
        out.push(m)
      }
      m.slots.push([from, to])
    }
    return out
  }

  /** The node on `port`. */
  node(port: number): ClusterNode {
    const n = this.nodes.find((x) => x.port === port)
    if (n === undefined) throw new Error(`no node on ${port}`)
    return n
  }

  /** Stop one node by its PID with `signal` and wait until it has exited. */
  async kill(port: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const { proc } = this.node(port)
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill(signal)
    await exited
  }

  /** Freeze the node on `port` by its PID (SIGSTOP): its sockets stay open, it answers nothing, not even the cluster bus. */
  pause(port: number): void {
    const { proc } = this.node(port)
    if (proc !== undefined && alive(this.node(port))) proc.kill('SIGSTOP')
  }

  /** Let a paused node run again (SIGCONT): it reads what piled up, and learns whether it was failed over meanwhile. */
  resume(port: number): void {
    const { proc } = this.node(port)
    if (proc !== undefined && alive(this.node(port))) proc.kill('SIGCONT')
  }

  /** The port of the master serving `slot` now (undefined while none does). */
  async masterOf(slot: number): Promise<number | undefined> {
    const masters = await this.masters().catch(() => [])
    return masters.find((m) => serves(m, slot))?.port
  }

  /** Resolve with the time (ms) at which the node on `port` first reports ROLE master, polled every 10 ms over one connection. */
  async whenMaster(port: number, timeoutMs = 30_000): Promise<number> {
    const conn = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 })
    conn.on('error', () => {})
    const deadline = Date.now() + timeoutMs
    try {
      await conn.connect()
      for (;;) {
        const role = (await conn.role().catch(() => [])) as unknown[]
        if (role[0] === 'master') return Date.now()
        if (Date.now() > deadline) throw new Error(`${port} not master within ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 10))
      }
    } finally {
      conn.disconnect()
    }
  }

  /** Wait until `slot` is served by a master other than `old`, and the cluster is ok again; returns the new master's port. */
  async waitNewMaster(slot: number, old: number, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const now = await this.masterOf(slot)
      if (now !== undefined && now !== old) {
        await this.waitOk(Math.max(1000, deadline - Date.now()))
        return now
      }
      if (Date.now() > deadline) throw new Error(`no replica took over slot ${slot} from ${old} within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Start a stopped node again on its port, with its own nodes.conf, so it rejoins the cluster (a killed master comes back as a replica). */
  async restart(port: number): Promise<void> {
    const n = this.node(port)
    if (alive(n)) throw new Error(`node ${port} is still running`)
    await this.spawnNode(n)
  }

  /** The node id of the node on `port`. */
  async id(port: number): Promise<string> {
    return (await cli(port, 'cluster', 'myid')).trim()
  }

  /**
   * Move `slot` from the master on `from` to the master on `to`, keys and all, the way `redis-cli --cluster
   * reshard` does: IMPORTING/MIGRATING, MIGRATE in batches, then SETSLOT NODE on both and on every other master.
   */
  async moveSlot(slot: number, from: number, to: number): Promise<void> {
    const [fromId, toId] = [await this.id(from), await this.id(to)]
    await cli(to, 'cluster', 'setslot', String(slot), 'importing', fromId)
    await cli(from, 'cluster', 'setslot', String(slot), 'migrating', toId)
    for (let i = 0; i < 1000; i++) {
      const keys = (await cli(from, 'cluster', 'getkeysinslot', String(slot), '100')).split('\n').filter((k) => k !== '')
      if (keys.length === 0) break
      await cli(from, 'migrate', '127.0.0.1', String(to), '', '0', '5000', 'keys', ...keys)
    }
    await cli(to, 'cluster', 'setslot', String(slot), 'node', toId)
    await cli(from, 'cluster', 'setslot', String(slot), 'node', toId)
    for (const m of await this.masters())
      if (m.port !== from && m.port !== to) await cli(m.port, 'cluster', 'setslot', String(slot), 'node', toId).catch(() => '')
  }

  /** Stop every node by PID and remove the directory. */
  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.port)))
    rmSync(this.dir, { recursive: true, force: true })
  }

  /** What a node printed (for a failure's message). */
  log(port: number): string {
    return this.output.get(port) ?? ''
  }

  private async spawnNode(n: ClusterNode): Promise<void> {
    const dir = join(this.dir, String(n.port))
    mkdirSync(dir, { recursive: true })
    const settings: [string, string][] = [
      ['port', String(n.port)],
      ['bind', '127.0.0.1'],
      ['dir', dir],
      ['cluster-enabled', 'yes'],
      ['cluster-config-file', join(dir, 'nodes.conf')],
      ['cluster-node-timeout', String(this.options.nodeTimeoutMs)],
      ['cluster-require-full-coverage', this.options.fullCoverage ? 'yes' : 'no'],
      ['save', ''],
      ['appendonly', this.options.appendonly ? 'yes' : 'no'],
      ['appendfsync', 'always'],
    ]
    const args = settings.flatMap(([name, value]) => [`--${name}`, value])
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    n.proc = proc
    let out = ''
    const keep = (d: Buffer) => {
      out += d
      this.output.set(n.port, out.slice(-20_000))
    }
    proc.stdout.on('data', keep)
    proc.stderr.on('data', keep)
    const spawnError = new Promise<never>((_, reject) => proc.once('error', (err) => reject(new Error(`redis-server did not start: ${err.message}`))))
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        await Promise.race([ping(`redis://127.0.0.1:${n.port}`, 500), spawnError])
        return
      } catch (err) {
        if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on ${n.port} did not answer: ${(err as Error).message}\n${out}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }
}

/** A master of the cluster and the slot ranges it serves. */
export interface Shard {
  port: number
  slots: [number, number][]
  replicas: number[]
}

/** Whether `slot` is in one of `shard`'s ranges. */
export function serves(shard: Shard, slot: number): boolean {
  return shard.slots.some(([from, to]) => from <= slot && slot <= to)
}

/** A fresh room name whose keys (hash-tagged `{room}`) live on `shard`. */
export function roomOn(shard: Shard, prefix = 't'): string {
  for (;;) {
    const room = uniqueRoom(prefix)
    if (serves(shard, keySlot(`{${room}}`))) return room
  }
}

function alive(n: ClusterNode): boolean {
  return n.proc !== undefined && n.proc.exitCode === null && n.proc.signalCode === null
}

async function portFree(port: number): Promise<boolean> {
  const net = await import('node:net')
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}
