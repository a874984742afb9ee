/**
 * The end-of-run check of a chaos run, over what was recorded, with exact
 * counts: every publish settled once; resolved seqs unique per room; every
 * member got the room's whole sequence 1..head once, in order, each seq
 * carrying the message that resolved with it; a rejected publish either
 * never reached anyone (a code that says "not published") or reached
 * everyone under one seq (a code that says "outcome unknown"), and nothing
 * reached anyone that nobody published.
 */
import type { Outcome } from './actors.ts'

/** Rejections after which the message certainly was not published. */
export const NOT_PUBLISHED = new Set(['unavailable', 'rate_limited', 'queue_full', 'forbidden', 'bad_frame', 'bad_data', 'closed', 'too_many_rooms'])
/** Rejections that leave it open whether the message was published (the documented "may or may not" codes). */
export const OUTCOME_OPEN = new Set(['connection_lost', 'outcome_unknown', 'timeout', 'gave_up'])

/** What a member was given. */
export interface MemberRecord {
  name: string
  room: string
  got: { seq: number; data: unknown }[]
  /** `missed` events: a resume that could not deliver everything. */
  missed: number
}

/** The counts a run ends with. */
export interface Counts {
  publishes: number
  resolved: number
  /** Rejections by code. */
  rejected: Record<string, number>
  /** Of the outcome-open rejections: how many were published after all, and how many not. */
  openPublished: number
  openNotPublished: number
  /** The room's last seq, by room. */
  heads: Record<string, number>
  /** Messages each member was given. */
  received: Record<string, number>
}

/** The verdict: counts, and every way the run broke the guarantee (empty when it held). */
export interface Verdict {
  counts: Counts
  violations: string[]
}

const MAX_REPORTED = 50

/** Check a run: its publishes' outcomes, its members' streams, and each room's final head. */
export function verify(outcomes: Outcome[], members: MemberRecord[], heads: Record<string, number>): Verdict {
  const violations: string[] = []
  const fail = (v: string) => {
    if (violations.length < MAX_REPORTED) violations.push(v)
    else if (violations.length === MAX_REPORTED) violations.push('... and more')
  }
  const counts: Counts = { publishes: outcomes.length, resolved: 0, rejected: {}, openPublished: 0, openNotPublished: 0, heads, received: {} }

  // Publishes: each settled once; a resolved seq belongs to one publish per room.
  const byData = new Map<string, Outcome>()
  const bySeq = new Map<string, Outcome>()
  for (const o of outcomes) {
    if (byData.has(o.data)) fail(`two publishes of ${o.data}`)
    byData.set(o.data, o)
    if (o.settles !== 1) fail(`${o.data} settled ${o.settles} times`)
    if (o.seq !== undefined) {
      counts.resolved++
      const key = `${o.room}#${o.seq}`
      const other = bySeq.get(key)
      if (other !== undefined) fail(`${o.data} and ${other.data} both resolved with seq ${o.seq} in ${o.room}`)
      bySeq.set(key, o)
      if (o.seq > (heads[o.room] ?? 0)) fail(`${o.data} resolved with seq ${o.seq}, past ${o.room}'s head ${heads[o.room] ?? 0}`)
    } else if (o.code !== undefined) {
      counts.rejected[o.code] = (counts.rejected[o.code] ?? 0) + 1
      if (!NOT_PUBLISHED.has(o.code) && !OUTCOME_OPEN.has(o.code)) fail(`${o.data} rejected with the undocumented code ${o.code}`)
    }
  }

  // Members: the whole sequence, once, in order, each seq with its one message.
  const openSeq = new Map<string, number>()
  for (const m of members) {
    counts.received[m.name] = m.got.length
    const head = heads[m.room] ?? 0
    if (m.missed > 0) fail(`${m.name} was told it missed messages ${m.missed} time(s)`)
    let expected = 1
    for (const { seq, data } of m.got) {
      if (seq !== expected) {
        fail(`${m.name} got seq ${seq} where ${expected} was next (${seq < expected ? 'twice or out of order' : 'a gap'})`)
        expected = seq
      }
      expected++
      const o = typeof data === 'string' ? byData.get(data) : undefined
      if (o === undefined || o.room !== m.room) {
        fail(`${m.name} got seq ${seq} with ${JSON.stringify(data)}, which no publish in ${m.room} sent`)
        continue
      }
      if (o.seq !== undefined) {
        if (o.seq !== seq) fail(`${m.name} got ${o.data} as seq ${seq}, but it resolved as seq ${o.seq} (published twice?)`)
      } else if (o.code !== undefined && NOT_PUBLISHED.has(o.code)) {
        fail(`${m.name} got ${o.data} (seq ${seq}), which was rejected with ${o.code}: reported not published`)
      } else {
        const known = openSeq.get(o.data)
        if (known === undefined) openSeq.set(o.data, seq)
        else if (known !== seq) fail(`${o.data} (outcome open) reached members as seq ${known} and as seq ${seq}`)
      }
    }
    if (expected - 1 !== head) fail(`${m.name} got up to seq ${expected - 1} of ${m.room}'s ${head}`)
  }
  for (const o of outcomes) {
    if (o.code !== undefined && OUTCOME_OPEN.has(o.code)) {
      if (openSeq.has(o.data)) counts.openPublished++
      else counts.openNotPublished++
    }
  }
  return { counts, violations }
}
