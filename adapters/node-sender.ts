/**
 * Node's fast fan-out: what uWebSockets does, on top of ws. Each broadcast is
 * framed once and the same bytes are written to every recipient's socket;
 * sockets are corked for the rest of the event-loop turn and uncorked together
 * in one setImmediate, so a recipient gets one writev per turn instead of one
 * write per message. Anything ws must handle itself goes through ws.send.
 */
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import * as wsModule from 'ws'
import type { Connection } from '../src/index.ts'

/** The ws internals the fast path reads; checked once, so a ws that changed them only loses the fast path. */
interface WsInternals {
  _socket: Socket | null
  _extensions: Record<string, unknown>
  _sender: { _state: number; _queue: unknown[]; _firstFragment: boolean; _bufferedBytes: number } | null
}

interface FrameOptions {
  fin: boolean
  opcode: number
  mask: boolean
  readOnly: boolean
  rsv1: boolean
}
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }

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
      this.socket !== null && typeof this.socket.cork === 'function' && internals._sender !== null && internals._extensions['permessage-deflate'] === undefined
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

  bufferedAmount(): number {
    return this.ws.bufferedAmount
  }

  ping(): void {
    this.ws.ping()
  }

  /** ws refuses a frame over maxPayload itself (closing with 1009) and reports it as this error. */
  closedBy(event: unknown): 'too_large' | undefined {
    return (event as { error?: { code?: unknown } } | undefined)?.error?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too_large' : undefined
  }
}
