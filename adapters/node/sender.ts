/**
 * Node's fast fan-out: what uWebSockets does, on top of ws. Each broadcast is
 * framed once; what a recipient gets in one event-loop turn is held and written
 * in one socket.write at the end of the turn, and since every member of a room
 * usually gets the same frames, the frames are joined into one buffer once and
 * that same buffer goes to every socket: one write (one syscall) per recipient
 * per turn, whatever the number of messages. Anything ws must handle itself
 * goes through ws.send, after what is held.
 */
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import * as wsModule from 'ws'
import type { Connection } from '../../src/index.ts'

/**
 * The ws internals the fast path reads (with `Sender.frame`). ws is pinned to one version, and
 * wsInternalsProblem checks every one of them on the first socket, so a ws that changed them costs the
 * fast path, not every member's connection (a send that throws closes it with 1011).
 */
interface WsInternals {
  _socket: Socket | null
  _extensions: Record<string, unknown>
  _sender: { _state: number; _queue: unknown[]; _firstFragment: boolean } | null
}

interface FrameOptions {
  fin: boolean
  opcode: number
  mask: boolean
  readOnly: boolean
  rsv1: boolean
}
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }

/** The first internal the fast path reads that this ws lacks or holds with another type, or null if all are there. */
export function wsInternalsProblem(ws: WebSocket): string | null {
  const w = ws as unknown as Record<string, unknown>
  const sender = w._sender as Record<string, unknown> | null | undefined
  const checks: [string, boolean][] = [
    ['Sender.frame', typeof (Sender as { frame?: unknown } | undefined)?.frame === 'function'],
    ['_socket', typeof (w._socket as Socket | null | undefined)?.cork === 'function'],
    ['_extensions', typeof w._extensions === 'object' && w._extensions !== null],
    ['_sender', typeof sender === 'object' && sender !== null],
    ['_sender._state', typeof sender?._state === 'number'],
    ['_sender._queue', Array.isArray(sender?._queue)],
    ['_sender._firstFragment', typeof sender?._firstFragment === 'boolean'],
  ]
  for (const [name, ok] of checks) if (!ok) return name
  return null
}

// Decided on the first socket, for the process: every socket of one ws has the same internals.
let internalsOk: boolean | undefined

function fastPathAvailable(ws: WebSocket): boolean {
  if (internalsOk === undefined) {
    const problem = wsInternalsProblem(ws)
    internalsOk = problem === null
    if (problem !== null) console.warn(`roomcast: this ws has no ${problem} as the fast fan-out expects; sending through ws.send instead`)
  }
  return internalsOk
}

const OPEN = 1
// Past this many held bytes a recipient is written out at once rather than at the end of the turn: the batch is
// big enough to gain nothing more, and bufferedAmount must show what the kernel would not take, not what we held
// back; otherwise one busy turn could make a reader look like a slow consumer.
const FLUSH_BYTES = 64 * 1024
const TEXT: FrameOptions = { fin: true, opcode: 0x01, mask: false, readOnly: false, rsv1: false }
const BINARY: FrameOptions = { fin: true, opcode: 0x02, mask: false, readOnly: false, rsv1: false }

// The core hands every member of a broadcast the same string (or bytes), so one frame serves the whole
// fan-out. The last two are kept, because a room with raw and json members alternates between two per
// broadcast. Strings compare by value, which is also sound: equal text frames to equal bytes.
let dataA: string | Uint8Array | undefined
let frameA: Buffer | undefined
let indexA = 0
let dataB: string | Uint8Array | undefined
let frameB: Buffer | undefined
let indexB = 0
/**
 * Every frame built this turn, in order. A recipient that got a run of them in a row (every member of a room
 * that hears every broadcast does) holds only where its run starts and how long it is. Cleared every turn.
 */
const turnFrames: Buffer[] = []
/** The number (index in turnFrames) of the frame frameOf returned last. */
let frameIndex = 0

/** The frame for `data`: built on the first recipient of a broadcast, reused for the rest. */
function frameOf(data: string | Uint8Array): Buffer {
  if (data === dataA && frameA !== undefined) {
    frameIndex = indexA
    return frameA
  }
  if (data === dataB && frameB !== undefined) {
    frameIndex = indexB
    return frameB
  }
  const payload = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const parts = Sender.frame(payload, typeof data === 'string' ? TEXT : BINARY)
  const [first] = parts
  const frame = parts.length === 1 && first !== undefined ? first : Buffer.concat(parts)
  dataB = dataA
  frameB = frameA
  indexB = indexA
  dataA = data
  frameA = frame
  indexA = turnFrames.length
  turnFrames.push(frame)
  frameIndex = indexA
  return frame
}

/**
 * Frames of this turn joined into one buffer, for every recipient that got exactly these frames: a run
 * (`from`, the number of its first frame, and its length), or a list of the frames (`from` -1), compared
 * frame by frame. A few entries, because a room with raw and json members has two lists per turn, and the
 * publisher of a json message (left out of its own message) a third. Cleared every turn.
 */
interface Joined {
  from: number
  parts: Buffer[] | undefined
  count: number
  buffer: Buffer
}
const JOINED_SLOTS = 4
const joinedCache: Joined[] = []
let joinedNext = 0

function remember(entry: Joined): Buffer {
  if (joinedCache.length < JOINED_SLOTS) joinedCache.push(entry)
  else joinedCache[joinedNext] = entry
  joinedNext = (joinedNext + 1) % JOINED_SLOTS
  return entry.buffer
}

/** turnFrames[from, from + count) (`bytes` in all) as one buffer. */
function joinedRun(from: number, count: number, bytes: number): Buffer {
  for (const j of joinedCache) if (j.from === from && j.count === count) return j.buffer
  return remember({ from, parts: undefined, count, buffer: Buffer.concat(turnFrames.slice(from, from + count), bytes) })
}

/** `parts` (`bytes` in all) as one buffer. */
function joinedList(parts: Buffer[], bytes: number): Buffer {
  const count = parts.length
  for (const j of joinedCache) {
    if (j.parts === undefined || j.count !== count || j.buffer.length !== bytes) continue
    let same = true
    for (let i = 0; i < count; i++) {
      if (j.parts[i] !== parts[i]) {
        same = false
        break
      }
    }
    if (same) return j.buffer
  }
  return remember({ from: -1, parts: parts.slice(), count, buffer: Buffer.concat(parts, bytes) })
}

/** Connections holding frames for the end of this turn, in the order they first got one. */
const holding: NodeConnection[] = []
let scheduled = false

/** End of the turn: one write per recipient, and forget this turn's frames. */
function flushAll(): void {
  scheduled = false
  // A flush never sends, so nothing joins the list while it is walked.
  for (const c of holding) {
    c.listed = false
    c.flush()
  }
  holding.length = 0
  dataA = dataB = undefined
  frameA = frameB = undefined
  turnFrames.length = 0
  joinedCache.length = 0
  joinedNext = 0
}

/** Whether ws's own framing is needed for this socket (compression, or ws has something queued or half-sent). */
function wsMustSend(ws: WsInternals): boolean {
  const s = ws._sender
  return s === null || s._state !== 0 || s._queue.length !== 0 || !s._firstFragment
}

/** A core Connection over a ws socket, with the batched, frame-once send path. */
export class NodeConnection implements Connection {
  /** Whether this connection is in this turn's list of connections to flush. */
  listed = false
  /** Bytes held for the end of the turn. */
  held = 0
  /**
   * What is held: `count` frames, a run of this turn's frames from number `from` while `own` is undefined,
   * else the frames in `own` (made when a turn first breaks a run, then reused).
   */
  private count = 0
  private from = 0
  private own: Buffer[] | undefined = undefined
  private run = true
  readonly socket: Socket
  private readonly fast: boolean

  constructor(readonly ws: WebSocket) {
    const internals = ws as unknown as WsInternals
    this.socket = internals._socket as Socket
    // Pre-built frames are only sound uncompressed: permessage-deflate would need ws's per-socket deflate state.
    this.fast =
      fastPathAvailable(ws) &&
      this.socket !== null &&
      typeof this.socket.cork === 'function' &&
      internals._sender !== null &&
      internals._extensions['permessage-deflate'] === undefined
  }

  send(data: string | Uint8Array): void {
    // Holding already: the socket passed the checks below at this turn's first frame, and flush checks it again.
    if (this.count !== 0) return this.hold(frameOf(data))
    const ws = this.ws
    if (!this.fast || ws.readyState !== OPEN || this.socket.destroyed || wsMustSend(ws as unknown as WsInternals)) {
      ws.send(data)
      return
    }
    this.hold(frameOf(data))
  }

  private hold(frame: Buffer): void {
    const index = frameIndex
    if (this.count === 0) {
      this.from = index
      this.run = true
    } else if (this.run && index !== this.from + this.count) {
      // The run breaks (a frame of its own, or a broadcast it was left out of): from here on, a list.
      const own = this.own ?? []
      this.own = own
      for (const f of turnFrames.slice(this.from, this.from + this.count)) own.push(f)
      own.push(frame)
      this.run = false
    } else if (!this.run) this.own?.push(frame)
    this.count++
    this.held += frame.length
    if (!this.listed) {
      this.listed = true
      holding.push(this)
      if (!scheduled) {
        scheduled = true
        setImmediate(flushAll)
      }
    }
    if (this.held >= FLUSH_BYTES) this.flush()
  }

  /** Write what is held in one socket.write (a socket ws is closing or that is gone gets nothing more). */
  flush(): void {
    const count = this.count
    if (count === 0) return
    const bytes = this.held
    this.count = 0
    this.held = 0
    const own = this.run ? undefined : this.own
    // ws only closes (readyState CLOSING) after writing its close frame: nothing may follow that frame.
    if (this.ws.readyState === OPEN && !this.socket.destroyed) {
      const single = count === 1 ? turnFrames[this.from] : undefined
      this.socket.write(own !== undefined ? joinedList(own, bytes) : (single ?? joinedRun(this.from, count, bytes)))
    }
    if (own !== undefined) own.length = 0
  }

  close(code: number, reason: string): void {
    this.flush()
    this.ws.close(code, reason)
  }

  terminate(): void {
    // The close frame ws.close just wrote follows what was held; both reach the kernel before the socket goes.
    this.flush()
    this.ws.terminate()
  }

  /** What ws has not written yet, and what this turn holds. */
  bufferedAmount(): number {
    return this.ws.bufferedAmount + this.held
  }

  ping(): void {
    this.flush()
    this.ws.ping()
  }

  /** ws refuses a frame over maxPayload itself (closing with 1009) and reports it as this error. */
  closedBy(event: unknown): 'too_large' | undefined {
    return (event as { error?: { code?: unknown } } | undefined)?.error?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too_large' : undefined
  }
}
