/**
 * One room's v2 roster across instances, as this instance knows it: the
 * other instances' subs (each instance's part under its lease in Redis, with a
 * version), and this instance's own part, which it writes. Each write of the
 * subs that changed in one presence tick bumps the writer's version and is
 * announced on the room's channel ("r" messages) with the changes; a reader
 * applies an announcement that continues the version it holds, and re-reads
 * that instance's part when it does not (a missed message, a full rewrite,
 * more changes than one message carries). Every heartbeat (which runs anyway)
 * returns the live instances' versions, so a missed announcement heals within
 * one heartbeat, and an instance whose lease lapsed (it died) drops out with
 * its subs. A steady room costs nothing here beyond that heartbeat.
 */
import type { RemoteRoster, RosterShare } from '../../src/index.ts'
import type { Beat, RoomListener, RoomStore } from './room-store.ts'

/** At most this many changed subs ride in one announcement; more, and readers re-read the writer's part. */
export const MAX_ANNOUNCED_CHANGES = 1000

/** One other instance's part: its subs, the version they are as of, and when (in this roster's turns) we last heard of it. */
interface Part {
  version: number
  subs: Map<string, RosterShare>
  heard: number
}

/** A sub's value in Redis: "<connections>" or "<connections> <info JSON>". */
export function encodeShare(share: RosterShare): string {
  return share.info === undefined ? String(share.connections) : `${share.connections} ${JSON.stringify(share.info)}`
}

/** The inverse of encodeShare; undefined if it is not one. */
export function decodeShare(text: string): RosterShare | undefined {
  const sp = text.indexOf(' ')
  const connections = Number(sp < 0 ? text : text.slice(0, sp))
  if (!Number.isInteger(connections) || connections <= 0) return undefined
  if (sp < 0) return { connections }
  try {
    const info = JSON.parse(text.slice(sp + 1))
    return info !== null && typeof info === 'object' ? { connections, info } : { connections }
  } catch {
    return { connections }
  }
}

/** The other instances' part of one room's roster, and the writer of this instance's part. */
export class RoomRoster implements RemoteRoster {
  private readonly others = new Map<string, Part>()
  /** This instance's part as last handed to `publish`: what a full rewrite puts back. */
  private readonly mine = new Map<string, RosterShare>()
  /** Changes of this instance's part not written yet. */
  private pending = new Map<string, RosterShare>()
  private writing = false
  /** The next write replaces this instance's whole part (after Redis lost it, or a write failed). */
  private rewrite = false
  /** Instances whose part must be re-read; one read in flight at a time. */
  private readonly toRead = new Set<string>()
  private reading = false
  /** Counts what this roster heard, so a heartbeat read that started earlier cannot drop a part heard since. */
  private turnCount = 0
  private closed = false

  constructor(
    private readonly store: RoomStore,
    /** The room's log: its keys, and whether its Redis is reachable. */
    private readonly room: RoomListener,
    /** Other instances' connections of these subs changed. */
    private readonly changed: (subs: Iterable<string>) => void,
    private readonly maxAnnounced = MAX_ANNOUNCED_CHANGES,
  ) {}

  /** A mark to hand to `applyBeat` with the heartbeat read started now. */
  get turn(): number {
    return this.turnCount
  }

  get(sub: string): RosterShare | undefined {
    let out: RosterShare | undefined
    for (const part of this.others.values()) {
      const s = part.subs.get(sub)
      if (s === undefined) continue
      if (out === undefined) out = s.info === undefined ? { connections: s.connections } : { connections: s.connections, info: s.info }
      else {
        out.connections += s.connections
        if (out.info === undefined && s.info !== undefined) out.info = s.info
      }
    }
    return out
  }

  publish(changes: ReadonlyMap<string, RosterShare>): void {
    for (const [sub, share] of changes) {
      this.pending.set(sub, share)
      if (share.connections > 0) this.mine.set(sub, share)
      else this.mine.delete(sub)
    }
    this.flush()
  }

  /** Another instance announced version `version` of its part, with `changes` (JSON [[sub, connections, info?]...], or "*"). */
  heard(instance: string, version: number, changes: string): void {
    if (instance === this.store.instanceId || this.closed) return
    const part = this.others.get(instance)
    const continues = part === undefined ? version === 1 : version === part.version + 1
    if (continues && changes !== '*') {
      const list = parseChanges(changes)
      if (list !== undefined) {
        const p = part ?? { version: 0, subs: new Map<string, RosterShare>(), heard: 0 }
        for (const [sub, share] of list) {
          if (share === undefined) p.subs.delete(sub)
          else p.subs.set(sub, share)
        }
        p.version = version
        p.heard = ++this.turnCount
        this.others.set(instance, p)
        this.changed(list.map(([sub]) => sub))
        return
      }
    }
    if (part === undefined || version > part.version) this.read(instance)
  }

  /** Another instance said it has no members left in the room: its part is empty. */
  gone(instance: string): void {
    if (this.closed) return
    const part = this.others.get(instance)
    if (part === undefined) return
    this.others.delete(instance)
    this.turnCount++
    if (part.subs.size > 0) this.changed(part.subs.keys())
  }

  /** Take in a heartbeat read started at `turn`: drop parts of instances whose lease lapsed, re-read parts whose version moved. */
  applyBeat(b: Beat, turn: number): void {
    if (this.closed) return
    const live = new Set(b.others.map(([id]) => id))
    for (const [id, part] of this.others) if (!live.has(id) && part.heard <= turn) this.gone(id)
    for (const [id, version] of b.versions) {
      if (id === this.store.instanceId) continue
      if (!live.has(id)) continue
      const part = this.others.get(id)
      if (part !== undefined && part.version === version) continue
      // A lower version than we hold: Redis lost it and the instance started over. Take what a read says.
      if (part !== undefined && version < part.version) part.version = -1
      this.read(id)
    }
    // Redis no longer has this instance's part (it lost it), or a write failed: write it again.
    if (this.mine.size > 0 && !b.versions.has(this.store.instanceId) && !this.writing) this.resync()
    else if (this.rewrite) this.flush()
  }

  /** Redis returned (or the channel was subscribed again): write this instance's whole part again. */
  resync(): void {
    this.rewrite = true
    this.flush()
  }

  /** The room closed here: its part is withdrawn by the heartbeat with a count of 0. */
  close(): void {
    this.closed = true
    this.pending.clear()
    this.mine.clear()
  }

  private flush(): void {
    if (this.writing || this.closed) return
    if (this.pending.size === 0 && !(this.rewrite && this.mine.size > 0)) return
    if (!this.store.isUp(this.room)) {
      // Nothing written while Redis is away; everything once it is back (resync on subscribed).
      this.rewrite = true
      return
    }
    const full = this.rewrite
    const batch: ReadonlyMap<string, RosterShare> = full ? this.mine : this.pending
    const pairs: string[] = []
    const list: unknown[] = []
    for (const [sub, share] of batch) {
      pairs.push(sub, share.connections > 0 ? encodeShare(share) : '')
      if (!full && list.length < this.maxAnnounced + 1) list.push(share.info === undefined ? [sub, share.connections] : [sub, share.connections, share.info])
    }
    const message = full || list.length > this.maxAnnounced ? '*' : JSON.stringify(list)
    this.pending = new Map()
    this.rewrite = false
    this.writing = true
    this.store.rosterWrite(this.room.keys, full, message, pairs).then(
      () => {
        this.writing = false
        this.flush()
      },
      () => {
        // It may or may not have been written: write the whole part again when Redis answers.
        this.writing = false
        this.rewrite = true
      },
    )
  }

  private read(instance: string): void {
    this.toRead.add(instance)
    if (this.reading || this.closed || !this.store.isUp(this.room)) return
    const ids = [...this.toRead]
    this.toRead.clear()
    this.reading = true
    this.store.rosterRead(this.room.keys, ids).then(
      (parts) => {
        this.reading = false
        if (this.closed) return
        const touched = new Set<string>()
        for (const [id, read] of parts) {
          const part = this.others.get(id)
          // An announcement newer than this read was applied meanwhile: keep it.
          if (part !== undefined && part.version > read.version) continue
          if (part !== undefined) for (const sub of part.subs.keys()) touched.add(sub)
          for (const sub of read.subs.keys()) touched.add(sub)
          if (read.version === 0) this.others.delete(id)
          else this.others.set(id, { version: read.version, subs: read.subs, heard: ++this.turnCount })
        }
        if (touched.size > 0) this.changed(touched)
        if (this.toRead.size > 0) this.read(this.toRead.values().next().value as string)
      },
      () => {
        // Redis did not answer: the next heartbeat sees the versions still differ and reads again.
        this.reading = false
      },
    )
  }
}

/** Parse an announcement's changes: [[sub, connections, info?]...], connections 0 meaning gone; undefined if malformed. */
function parseChanges(text: string): [string, RosterShare | undefined][] | undefined {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!Array.isArray(raw)) return undefined
  const out: [string, RosterShare | undefined][] = []
  for (const item of raw) {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || typeof item[1] !== 'number') return undefined
    const [sub, connections, info] = item as [string, number, unknown]
    if (connections <= 0) out.push([sub, undefined])
    else if (info !== null && typeof info === 'object') out.push([sub, { connections, info: info as Record<string, unknown> }])
    else out.push([sub, { connections }])
  }
  return out
}
