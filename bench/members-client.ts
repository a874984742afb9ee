/**
 * One of the member processes of `npm run bench:members` (bench/members.ts forks several): it holds its share
 * of one room's members, all from one loopback source address, counts every delivery per member (lost,
 * duplicated, out of order) and tells the coordinator, over IPC, when a message has reached all of its members
 * and when the last of them got it, on the machine's monotonic clock (the same in every process).
 */
import type { Buffer } from 'node:buffer'
import type { DoneReport, MembersCommand, PhaseCounts } from './members-shared.ts'
import { bucketOf, clockOffset } from './members-shared.ts'
import type { Member } from './wire.ts'
import { open } from './wire.ts'

const W = 0x57 // 'W': warm-up payload
const I = 0x49 // 'I': measured payload
const M_ = 0x6d // 'm' of {"type":"message"

let members: Member[] = []
let mode: 'raw' | 'json' = 'raw'
let jsonPrefix = 0
let nextId = new Float64Array(0)
let warm = new Float64Array(0)
let first = 0
let perId = new Uint32Array(0)
let lastOf = new Float64Array(0)
let counts: PhaseCounts = fresh()
let reports: { id: number; last: number }[] = []
let reporting = false

function fresh(): PhaseCounts {
  return { members: members.length, good: 0, duplicated: 0, reordered: 0, strange: 0, lastAt: 0, histogram: {} }
}

function digits(buf: Buffer, from: number, count: number): number {
  let v = 0
  for (let i = from; i < from + count; i++) v = v * 10 + ((buf[i] ?? 48) - 48)
  return v
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 48 && byte <= 57
}

/** Every data frame a member receives; `now` is performance.now() when its chunk arrived. */
function onPayload(m: Member, buf: Buffer, start: number, _len: number, now: number): void {
  let p = start
  if (mode === 'json') {
    if (buf[start + 9] !== M_) return // welcome, presence: not a delivery
    p = start + jsonPrefix
    while (isDigit(buf[p])) p++
    p += 9 // ,"data":"
  }
  const idx = m.index
  const c = buf[p]
  if (c === W) {
    warm[idx] = Math.max(warm[idx] ?? 0, digits(buf, p + 1, 9))
    return
  }
  if (c !== I) {
    counts.strange++
    return
  }
  const id = digits(buf, p + 1, 9)
  const expected = nextId[idx] ?? 0
  if (id < expected) {
    counts.duplicated++
    return
  }
  if (id > expected) counts.reordered++
  nextId[idx] = id + 1
  counts.good++
  const at = now + clockOffset
  counts.lastAt = at
  // The payload carries its publish time on the shared clock, in µs.
  const bucket = bucketOf(at - digits(buf, p + 11, 13) / 1000)
  counts.histogram[bucket] = (counts.histogram[bucket] ?? 0) + 1
  const k = id - first
  if (k < 0 || k >= perId.length) return
  const seen = (perId[k] ?? 0) + 1
  perId[k] = seen
  if (at > (lastOf[k] ?? 0)) lastOf[k] = at
  if (seen === members.length) {
    reports.push({ id, last: lastOf[k] ?? at })
    if (!reporting) {
      reporting = true
      setImmediate(report)
    }
  }
}

function report(): void {
  reporting = false
  const done = reports
  reports = []
  process.send?.({ done } satisfies DoneReport)
}

async function connect(cmd: Extract<MembersCommand, { op: 'connect' }>): Promise<{ ms: number; members: number }> {
  const t0 = performance.now()
  mode = cmd.mode
  jsonPrefix = `{"type":"message","room":${JSON.stringify(cmd.room)},"seq":`.length
  const protocol = cmd.mode === 'json' ? 'roomcast.v1' : undefined
  const from = members.length
  const to = from + cmd.count
  nextId = new Float64Array(to)
  warm = new Float64Array(to)
  let next = from
  const worker = async () => {
    while (next < to) {
      const i = next++
      members[i] = await open(i, '127.0.0.1', cmd.port, cmd.path, protocol, onPayload, 60_000, cmd.localAddress)
    }
  }
  await Promise.all(Array.from({ length: Math.min(cmd.concurrency, cmd.count) }, worker))
  return { ms: performance.now() - t0, members: members.length }
}

async function handle(cmd: MembersCommand): Promise<unknown> {
  switch (cmd.op) {
    case 'connect':
      return connect(cmd)
    case 'warmed': {
      // The lowest warm-up id every member has seen; members whose socket closed count as not warmed.
      let min = Infinity
      for (let i = 0; i < members.length; i++) min = Math.min(min, members[i]?.closed === true ? -1 : (warm[i] ?? 0))
      return { min }
    }
    case 'phase':
      first = cmd.first
      perId = new Uint32Array(cmd.count)
      lastOf = new Float64Array(cmd.count)
      nextId.fill(cmd.first)
      counts = fresh()
      return {}
    case 'result':
      return counts
    case 'close':
      for (const m of members) m?.socket.destroy()
      members = []
      return {}
  }
}

const send = process.send?.bind(process)
if (send === undefined) throw new Error('bench/members-client.ts takes its commands over IPC: bench/members.ts forks it')
process.on('message', (msg: { seq: number; cmd: MembersCommand }) => {
  handle(msg.cmd).then(
    (result) => send({ seq: msg.seq, ok: true, result }),
    (err: Error) => send({ seq: msg.seq, ok: false, error: err.stack ?? String(err) }),
  )
})
process.on('disconnect', () => process.exit(0))
