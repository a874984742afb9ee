/**
 * Node's fast fan-out: what uWebSockets does, on top of ws. Each broadcast is
 * framed once and the same bytes are written to every recipient's socket;
 * sockets are corked for the rest of the event-loop turn and uncorked together
 * in one setImmediate, so a recipient gets one writev per turn instead of one
 * write per message. Anything ws must handle itself goes through ws.send.
 */
import type { Socket } from 'node:net'
import * as wsModule from 'ws'
import type { WebSocket } from 'ws'
import type { Connection } from '../src/index.ts'

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
// Past this many unsent bytes a corked socket is written out at once rather than at the end of the turn: the
// batch is big enough to gain nothing more, and bufferedAmount must show what the kernel would not take, not
// what we held back; otherwise one busy turn could make a reader look like a slow consumer.
const FLUSH_BYTES = 64 * 1024
const TEXT: FrameOptions = { fin: true, opcode: 0x01, mask: false, readOnly: false, rsv1: false }
const BINARY: FrameOptions = { fin: true, opcode: 0x02, mask: false, readOnly: false, rsv1: false }

// The core hands every member of a broadcast the same string (or bytes), so
// one cached frame serves the whole fan-out. Strings compare by value, which
// is also sound: equal text frames to equal bytes. Cleared every turn.
let lastData: string | Uint8Array | undefined
let lastFrame: Buffer | undefined

/** The frame for `data`: built on the first recipient of a broadcast, reused for the rest. */
function frameOf(data: string | Uint8Array): Buffer {
  if (data === lastData && lastFrame !== undefined) return lastFrame
  const payload = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const parts = Sender.frame(payload, typeof data === 'string' ? TEXT : BINARY)
  const [first] = parts
  const frame = parts.length === 1 && first !== undefined ? first : Buffer.concat(parts)
  lastData = data
  lastFrame = frame
  return frame
}

const corked: NodeConnection[] = []
let scheduled = false

/** End of the turn: one write per corked socket, and forget this turn's frame. */
function uncorkAll(): void {
  scheduled = false
  for (const c of corked) {
    c.corked = false
    c.held = 0
    c.socket.uncork()
  }
  corked.length = 0
  lastData = undefined
  lastFrame = undefined
}

/** Whether ws's own framing is needed for this socket (compression, or ws has something queued or half-sent). */
function wsMustSend(ws: WsInternals): boolean {
  const s = ws._sender
  return s === null || s._state !== 0 || s._queue.length !== 0 || !s._firstFragment
}

/** A core Connection over a ws socket, with the batched, frame-once send path. */
export class NodeConnection implements Connection {
  /** Whether this socket is corked until the end of the current turn. */
  corked = false
  /** Bytes written into the cork since it was last flushed. */
  held = 0
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
    const ws = this.ws
    const socket = this.socket
    if (!this.fast || ws.readyState !== OPEN || socket.destroyed || wsMustSend(ws as unknown as WsInternals)) {
      ws.send(data)
      return
    }
    if (!this.corked) {
      this.corked = true
      socket.cork()
      corked.push(this)
      if (!scheduled) {
        scheduled = true
        setImmediate(uncorkAll)
      }
    }
    // Corked bytes count in the socket's writableLength, so bufferedAmount (and slow-consumer detection) sees them.
    const frame = frameOf(data)
    socket.write(frame)
    this.held += frame.length
    if (this.held >= FLUSH_BYTES) {
      this.held = 0
      socket.uncork()
      socket.cork()
    }
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason)
  }

  terminate(): void {
    // The close frame ws.close just wrote may sit in this turn's cork: hand it to the kernel before the socket goes.
    if (this.corked) this.socket.uncork()
    this.ws.terminate()
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount
  }

  ping(): void {
    this.ws.ping()
  }
}
