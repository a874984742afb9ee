/**
 * Appends and history reads on a cluster, made safe from failover: each
 * shard's are sent in one pipeline followed by `WAIT 1 <ms>`, so an ack (or
 * a history read a room delivers from) means a replica holds it too, and a
 * promoted replica cannot have lost it. One batch per shard is in flight at
 * a time (WAIT holds the connection); what arrives meanwhile goes in the
 * next, so one WAIT covers every publish of a busy moment (group commit).
 */
import type { Cluster } from 'ioredis'
import type { Reply } from './transport.ts'
import { NotSent, Unconfirmed } from './transport.ts'
import type { RoomKeys } from './wire.ts'

/** A pipeline with the scripts the cluster client defines. */
export interface ScriptedPipeline {
  rcAppend(meta: string, log: string, ...args: (string | number)[]): ScriptedPipeline
  rcAppendOnce(meta: string, log: string, ids: string, idx: string, ...args: (string | number)[]): ScriptedPipeline
  rcRange(meta: string, log: string, ...args: (string | number)[]): ScriptedPipeline
  call(command: string, ...args: string[]): ScriptedPipeline
  exec(): Promise<[Error | null, unknown][] | null>
}

interface Op {
  slot: number
  kind: 'append' | 'append-once' | 'range'
  keys: RoomKeys
  args: (string | number)[]
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

/** Publishes waiting for their shard's batch, per shard; past it a publish is refused. */
const MAX_WAITING = 10_000

/** One shard's queue: at most one batch in flight. */
class ShardQueue {
  waiting: Op[] = []
  busy = false
}

/** The batches of every shard, keyed by the shard's master. */
export class ShardBatches {
  private readonly queues = new Map<string, ShardQueue>()

  constructor(
    private readonly cluster: Cluster,
    /** The nodes of a slot, master first; undefined while unknown. */
    private readonly slotNodes: (slot: number) => readonly string[] | undefined,
    /** How long WAIT may take; 0: do not wait for replicas. */
    private readonly waitMs: number,
  ) {}

  /** Run the append script on the room's shard; resolves with the seq once a replica holds it. */
  append(slot: number, keys: RoomKeys, args: (string | number)[]): Promise<number> {
    return this.enqueue(slot, 'append', keys, args) as Promise<number>
  }

  /** Run the append script with a publish key on the room's shard; resolves with its reply once a replica holds it. */
  appendOnce(slot: number, keys: RoomKeys, args: (string | number)[]): Promise<Reply> {
    return this.enqueue(slot, 'append-once', keys, args) as Promise<Reply>
  }

  /** Run the range script on the room's shard; resolves once a replica holds everything it read. */
  range(slot: number, keys: RoomKeys, args: (string | number)[]): Promise<Reply> {
    return this.enqueue(slot, 'range', keys, args) as Promise<Reply>
  }

  private enqueue(slot: number, kind: Op['kind'], keys: RoomKeys, args: (string | number)[]): Promise<unknown> {
    const master = this.slotNodes(slot)?.[0]
    if (master === undefined) return Promise.reject(new NotSent(`no node of the cluster is known to serve slot ${slot}`))
    let q = this.queues.get(master)
    if (q === undefined) {
      q = new ShardQueue()
      this.queues.set(master, q)
    }
    if (q.waiting.length >= MAX_WAITING) return Promise.reject(new NotSent(`${MAX_WAITING} commands already wait for shard ${master}`))
    const queue = q
    return new Promise((resolve, reject) => {
      queue.waiting.push({ slot, kind, keys, args, resolve, reject })
      // Everything asked in this turn goes in one batch.
      if (!queue.busy && queue.waiting.length === 1) queueMicrotask(() => this.flush(master, queue))
    })
  }

  private flush(master: string, q: ShardQueue): void {
    if (q.busy || q.waiting.length === 0) {
      if (q.waiting.length === 0 && !q.busy) this.queues.delete(master)
      return
    }
    const batch = q.waiting
    q.waiting = []
    q.busy = true
    this.send(batch).finally(() => {
      q.busy = false
      this.flush(master, q)
    })
  }

  /** Resolve once the cluster's connection to `node` is ready, it closes, or 2 s passed. */
  private connected(node: string | undefined): Promise<void> {
    const redis = node === undefined ? undefined : this.cluster.nodes('master').find((r) => `${r.options.host}:${r.options.port}` === node)
    if (redis === undefined || redis.status === 'ready' || redis.status === 'end' || redis.status === 'close') return Promise.resolve()
    if (redis.status === 'wait') redis.connect().catch(() => {})
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        redis.off('ready', done)
        redis.off('close', done)
        resolve()
      }
      const timer = setTimeout(done, 2000)
      redis.once('ready', done)
      redis.once('close', done)
    })
  }

  private async send(batch: Op[]): Promise<void> {
    const first = batch[0] as Op
    // A node connection still connecting refuses a pipeline at once ("Connection is closed"): wait for it (bounded).
    await this.connected(this.slotNodes(first.slot)?.[0])
    const replicas = (this.slotNodes(first.slot)?.length ?? 1) - 1
    const wait = this.waitMs > 0 && replicas > 0
    const p = this.cluster.pipeline() as unknown as ScriptedPipeline
    for (const op of batch) {
      if (op.kind === 'append') p.rcAppend(op.keys.meta, op.keys.log, ...op.args)
      else if (op.kind === 'append-once') p.rcAppendOnce(op.keys.meta, op.keys.log, op.keys.ids, op.keys.idx, ...op.args)
      else p.rcRange(op.keys.meta, op.keys.log, ...op.args)
    }
    if (wait) p.call('WAIT', '1', String(this.waitMs))
    let results: [Error | null, unknown][]
    try {
      results = (await p.exec()) ?? []
    } catch (err) {
      for (const op of batch) op.reject(err)
      return
    }
    const waited = wait ? results[batch.length] : undefined
    const confirmed = !wait || (waited !== undefined && waited[0] === null && Number(waited[1]) >= 1)
    for (const [i, op] of batch.entries()) {
      const [err, value] = results[i] ?? [new Error('no reply'), undefined]
      if (err !== null) op.reject(err)
      else if (!confirmed) {
        op.reject(new Unconfirmed(waited?.[0] ? `WAIT failed: ${waited[0].message}` : `no replica confirmed it within ${this.waitMs} ms`))
      } else op.resolve(value)
    }
  }
}
