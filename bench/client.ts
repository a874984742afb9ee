/**
 * The load generator: a separate process that holds N members of one room and
 * one publisher, driven by bench/run.ts over IPC. It counts every delivery per
 * member (lost, duplicated, out of order), keeps the in-flight window bounded
 * and measures publish-to-receive latency on one monotonic clock.
 */
import { Buffer } from 'node:buffer'
import type { Member } from './wire.ts'
import { clientFrame, open } from './wire.ts'

export type Command =
  | { op: 'connect'; host: string; port: number; path: string; count: number; mode: 'raw' | 'json' | 'v2'; room: string }
  | { op: 'warm' }
  | { op: 'throughput'; size: number; messages: number; window: number; publishMs: number; stallMs: number }
  | { op: 'latency'; size: number; rate: number; count: number; stallMs: number }
  | { op: 'close' }

/** What one measured phase reports. */
export interface PhaseResult {
  published: number
  deliveries: number
  expected: number
  lost: number
  duplicated: number
  reordered: number
  /** Frames the client could not read as a delivery (should be 0), and the first of them. */
  strange: number
  strangeSample: string
  wallMs: number
  clientCpuMs: number
  /** Latency phase only: publish-to-receive in ms. */
  p50?: number
  p99?: number
  max?: number
}

const W = 0x57 // 'W': warm-up payload
const I = 0x49 // 'I': measured payload
const M_ = 0x6d // 'm' of {"type":"message"

let members: Member[] = []
let publisher: Member | null = null
let mode: 'raw' | 'json' | 'v2' = 'raw'
/** v2: what follows `"room":` in a publish, so a publish names the room. */
let v2Room = ''
let jsonPrefix = 0
let n = 0
let target: Extract<Command, { op: 'connect' }> | null = null

// Per-member state, indexed by Member.index (the publisher is index n and is not counted).
let nextId = new Float64Array(0)
let warm = new Float64Array(0)

// The current phase: ids base+1 .. base+published.
let idBase = 0
let lastId = 0
let perId = new Uint32Array(0)
let done = 0
let good = 0
let duplicated = 0
let reordered = 0
let strange = 0
let strangeSample = ''
let latencies: Float64Array | null = null
let latCount = 0
let onProgress: (() => void) | null = null
let lastDeliveryAt = 0

function digits(buf: Buffer, from: number, count: number): number {
  let v = 0
  for (let i = from; i < from + count; i++) v = v * 10 + ((buf[i] ?? 48) - 48)
  return v
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 48 && byte <= 57
}

/** Every data frame any member receives. */
function onPayload(m: Member, buf: Buffer, start: number, len: number, now: number): void {
  let p = start
  // A v2 message frame is v1's byte for byte.
  if (mode !== 'raw') {
    if (buf[start + 9] !== M_) return // welcome, presence, pong, ack: not a delivery
    p = start + jsonPrefix
    while (isDigit(buf[p])) p++
    p += 9 // ,"data":"
  }
  const idx = m.index
  if (idx >= n) return
  const c = buf[p]
  if (c === W) {
    warm[idx] = Math.max(warm[idx] ?? 0, digits(buf, p + 1, 9))
    return
  }
  if (c !== I) {
    if (strange++ === 0) strangeSample = buf.toString('utf8', start, start + Math.min(len, 120))
    return
  }
  const id = digits(buf, p + 1, 9)
  const expected = nextId[idx] ?? 0
  if (id === expected) {
    nextId[idx] = id + 1
    good++
  } else if (id < expected) {
    duplicated++
    return
  } else {
    reordered++
    nextId[idx] = id + 1
    good++
  }
  lastDeliveryAt = now
  if (latencies !== null && latCount < latencies.length) latencies[latCount++] = now - digits(buf, p + 11, 13) / 1000
  const seen = (perId[id - idBase] ?? 0) + 1
  perId[id - idBase] = seen
  if (seen === n) {
    done++
    if (onProgress !== null) onProgress()
  }
}

/** The payload of measured message `id`: its id and send time, padded to `size` bytes. */
function payload(id: number, size: number): string {
  const head = 'I' + String(id).padStart(9, '0') + 'T' + String(Math.round(performance.now() * 1000)).padStart(13, '0')
  return head + 'x'.repeat(Math.max(0, size - head.length))
}

function publishFrame(text: string): Buffer {
  const body =
    mode === 'json'
      ? `{"type":"publish","data":${JSON.stringify(text)}}`
      : mode === 'v2'
        ? `{"type":"publish","room":${v2Room},"data":${JSON.stringify(text)}}`
        : text
  return clientFrame(Buffer.from(body))
}

function startPhase(messages: number): void {
  idBase = lastId
  perId = new Uint32Array(messages + 2)
  nextId.fill(idBase + 1)
  done = good = duplicated = reordered = strange = 0
  strangeSample = ''
  lastDeliveryAt = performance.now()
}

/**
 * Wait until every published message reached every member, or until nothing
 * arrived for `stallMs` (what is missing then is lost). A server that only
 * falls behind is waited for, so late is never counted as lost.
 */
async function drain(published: number, stallMs: number): Promise<void> {
  while (done < published && performance.now() - lastDeliveryAt < stallMs) await sleep(10)
}

function endPhase(published: number, t0: number, cpu0: NodeJS.CpuUsage, tEnd: number): PhaseResult {
  const cpu = process.cpuUsage(cpu0)
  lastId = idBase + published
  const expected = published * n
  return {
    published,
    deliveries: good,
    expected,
    lost: expected - good,
    duplicated,
    reordered,
    strange,
    strangeSample,
    wallMs: tEnd - t0,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  }
}

function protocolOf(m: typeof mode): string | undefined {
  return m === 'json' ? 'roomcast.v1' : m === 'v2' ? 'roomcast.v2' : undefined
}

/** Open one member: in v2, a connection on `/` that subscribes to the room. */
async function openMember(i: number, t: Extract<Command, { op: 'connect' }>, protocol: string | undefined): Promise<Member> {
  if (t.mode !== 'v2') return open(i, t.host, t.port, t.path, protocol, onPayload, 30_000, sourceAddress(i))
  const m = await open(i, t.host, t.port, '/', protocol, onPayload, 30_000, sourceAddress(i))
  m.socket.write(clientFrame(Buffer.from(`{"type":"subscribe","room":${v2Room}}`)))
  return m
}

/** Members per loopback source address: each address has its own ~28,000 ephemeral ports. */
const PER_ADDRESS = 5000
/**
 * Each cell connects from addresses of its own (127.1.<cell>.1 and up), because a port bound to an address
 * stays taken while its connection of the cell before sits in TIME_WAIT.
 */
let cell = 0

/** Member i's source address in this cell. */
function sourceAddress(i: number): string {
  return `127.1.${cell % 256}.${1 + Math.floor(i / PER_ADDRESS)}`
}

/** Open `count` more members (the first call fixes the server, path and mode). */
async function connectMore(cmd: Extract<Command, { op: 'connect' }>): Promise<{ connectMs: number; members: number }> {
  const t0 = performance.now()
  target = cmd
  mode = cmd.mode
  jsonPrefix = `{"type":"message","room":${JSON.stringify(cmd.room)},"seq":`.length
  const protocol = protocolOf(cmd.mode)
  v2Room = JSON.stringify(cmd.room)
  const from = members.length
  const to = from + cmd.count
  // Until warm-up, no member is counted.
  n = 0
  let next = from
  const worker = async () => {
    while (next < to) {
      const i = next++
      members[i] = await openMember(i, cmd, protocol)
    }
  }
  await Promise.all(Array.from({ length: Math.min(64, cmd.count) }, worker))
  return { connectMs: performance.now() - t0, members: members.length }
}

/**
 * Open the publisher and warm up: joins may complete after the handshake, so
 * publish warm-ups until one has reached every member and no later one is in flight.
 */
async function warmUp(): Promise<{ warmups: number }> {
  const t = target as Extract<Command, { op: 'connect' }>
  n = members.length
  nextId = new Float64Array(n + 1)
  warm = new Float64Array(n + 1)
  publisher = await openMember(n, t, protocolOf(mode))
  let sent = 0
  const deadline = Date.now() + 60_000
  for (;;) {
    sent++
    publisher.socket.write(publishFrame('W' + String(sent).padStart(9, '0')))
    await sleep(n >= 2000 ? 500 : 200)
    let min = Infinity
    for (const w of warm.subarray(0, n)) min = Math.min(min, w)
    if (min === sent) break
    if (Date.now() > deadline) throw new Error(`only some members joined: lowest warm-up ${min} of ${sent}`)
  }
  return { warmups: sent }
}

/** Publish up to `messages` as fast as the in-flight window allows, for at most `publishMs`. */
async function throughput(cmd: Extract<Command, { op: 'throughput' }>): Promise<PhaseResult> {
  const pub = publisher as Member
  startPhase(cmd.messages)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const stopAt = t0 + cmd.publishMs
  let published = 0
  let stopped = false
  let scheduled = false
  await new Promise<void>((resolve) => {
    const pump = () => {
      scheduled = false
      if (stopped) return
      if (published >= cmd.messages || performance.now() >= stopAt) {
        stopped = true
        onProgress = null
        return resolve()
      }
      const free = cmd.window - (published - done)
      // Refill half a window at a time, so the publisher's writes carry many messages, as a busy room's would.
      if (free < Math.max(1, cmd.window >> 1)) return
      const count = Math.min(free, cmd.messages - published)
      const frames: Buffer[] = new Array(count)
      for (let k = 0; k < count; k++) frames[k] = publishFrame(payload(idBase + published + k + 1, cmd.size))
      published += count
      pub.socket.write(Buffer.concat(frames))
    }
    onProgress = () => {
      if (!scheduled) {
        scheduled = true
        setImmediate(pump)
      }
    }
    pump()
  })
  await drain(published, cmd.stallMs)
  // Throughput runs to the last delivery, not to when the drain noticed it.
  return endPhase(published, t0, cpu0, lastDeliveryAt)
}

/** Publish `count` messages at a fixed `rate` per second and record every delivery's latency. */
async function latency(cmd: Extract<Command, { op: 'latency' }>): Promise<PhaseResult> {
  const pub = publisher as Member
  startPhase(cmd.count)
  latencies = new Float64Array(cmd.count * n)
  latCount = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const gap = 1000 / cmd.rate
  for (let i = 0; i < cmd.count; i++) {
    const due = t0 + i * gap
    const wait = due - performance.now()
    if (wait > 1) await sleep(wait)
    pub.socket.write(publishFrame(payload(idBase + i + 1, cmd.size)))
  }
  await drain(cmd.count, cmd.stallMs)
  const r = endPhase(cmd.count, t0, cpu0, lastDeliveryAt)
  const lat = latencies.subarray(0, latCount).sort()
  latencies = null
  r.p50 = lat[Math.floor(lat.length * 0.5)] ?? NaN
  r.p99 = lat[Math.floor(lat.length * 0.99)] ?? NaN
  r.max = lat[lat.length - 1] ?? NaN
  return r
}

function closeAll(): void {
  cell++
  for (const m of members) m?.socket.destroy()
  publisher?.socket.destroy()
  members = []
  publisher = null
  target = null
  n = 0
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'connect':
      return connectMore(cmd)
    case 'warm':
      return warmUp()
    case 'throughput':
      return throughput(cmd)
    case 'latency':
      return latency(cmd)
    case 'close':
      closeAll()
      return {}
  }
}

const send = process.send?.bind(process)
if (send === undefined) throw new Error('bench/client.ts takes its commands over IPC: bench/run.ts forks it')
process.on('message', (cmd: Command) => {
  handle(cmd).then(
    (result) => send({ ok: true, result }),
    (err: Error) => send({ ok: false, error: err.stack ?? String(err) }),
  )
})
process.on('disconnect', () => process.exit(0))
