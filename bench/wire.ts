/**
 * The load generator's side of the wire: a bare-TCP WebSocket client that
 * parses frames in place without allocating per message, so the members cost
 * the client as little as possible and the server stays the thing measured.
 */

import type { Socket } from 'node:net'
import { connect } from 'node:net'

/** What a member does with each data frame's payload (`buf[start, start+len)`), at `now` (ms). */
export type OnPayload = (member: Member, buf: Buffer, start: number, len: number, now: number) => void

/** One WebSocket connection of the load generator. */
export class Member {
  rest: Buffer | null = null
  closed = false
  constructor(
    readonly index: number,
    readonly socket: Socket,
  ) {}
}

// A client frame must be masked; an all-zero key is a valid key and leaves the payload as it is.
const ZERO_MASK = Buffer.alloc(4)

/** A masked client frame (text unless `opcode` says otherwise) around `payload`. */
export function clientFrame(payload: Buffer, opcode = 0x1): Buffer {
  const len = payload.length
  const hdr = len < 126 ? 2 : len < 65536 ? 4 : 10
  const out = Buffer.allocUnsafe(hdr + 4 + len)
  out[0] = 0x80 | opcode
  if (hdr === 2) out[1] = 0x80 | len
  else if (hdr === 4) {
    out[1] = 0x80 | 126
    out.writeUInt16BE(len, 2)
  } else {
    out[1] = 0x80 | 127
    out.writeUInt32BE(0, 2)
    out.writeUInt32BE(len, 6)
  }
  ZERO_MASK.copy(out, hdr)
  payload.copy(out, hdr + 4)
  return out
}

/**
 * Open a WebSocket to `host:port` + `path`; resolves once the server answered 101. `localAddress` (127.1.x.y and
 * up) gives each source address its own ephemeral ports, so tens of thousands of members do not run out of them.
 */
export function open(
  index: number,
  host: string,
  port: number,
  path: string,
  protocol: string | undefined,
  onPayload: OnPayload,
  timeoutMs = 30_000,
  localAddress?: string,
): Promise<Member> {
  return new Promise((resolve, reject) => {
    const socket = localAddress === undefined ? connect({ host, port }) : connect({ host, port, localAddress })
    socket.setNoDelay(true)
    const m = new Member(index, socket)
    let head: Buffer = Buffer.alloc(0)
    const timer = setTimeout(() => fail(new Error(`handshake timed out after ${timeoutMs} ms`)), timeoutMs)
    const fail = (err: Error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    socket.on('error', (err) => {
      m.closed = true
      if (head !== null) fail(err)
    })
    socket.on('close', () => {
      m.closed = true
      if (head !== null) fail(new Error('closed during the handshake'))
    })
    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
          (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
          '\r\n',
      )
    })
    const onHandshake = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      const status = head.subarray(0, head.indexOf('\r\n')).toString()
      if (!/^HTTP\/1\.1 101/.test(status)) return fail(new Error(`upgrade refused: ${status}`))
      clearTimeout(timer)
      const after = head.subarray(end + 4)
      head = null as unknown as Buffer
      socket.off('data', onHandshake)
      socket.on('data', (c: Buffer) => parse(m, c, onPayload))
      if (after.length > 0) parse(m, Buffer.from(after), onPayload)
      resolve(m)
    }
    socket.on('data', onHandshake)
  })
}

/** Parse every whole frame in `chunk` (plus what was left over); data frames go to `onPayload`, pings are answered. */
export function parse(m: Member, chunk: Buffer, onPayload: OnPayload): void {
  const now = performance.now()
  let buf = chunk
  if (m.rest !== null) {
    buf = Buffer.concat([m.rest, chunk])
    m.rest = null
  }
  let off = 0
  const end = buf.length
  while (end - off >= 2) {
    const b0 = buf.readUInt8(off)
    let len = buf.readUInt8(off + 1) & 0x7f
    let hdr = 2
    if (len === 126) {
      if (end - off < 4) break
      len = buf.readUInt16BE(off + 2)
      hdr = 4
    } else if (len === 127) {
      if (end - off < 10) break
      len = buf.readUInt32BE(off + 6)
      hdr = 10
    }
    if (end - off < hdr + len) break
    const opcode = b0 & 0x0f
    const start = off + hdr
    if (opcode === 0x1 || opcode === 0x2) onPayload(m, buf, start, len, now)
    else if (opcode === 0x9) m.socket.write(clientFrame(Buffer.from(buf.subarray(start, start + len)), 0xa))
    else if (opcode === 0x8) m.closed = true
    off = start + len
  }
  // Copy the tail: a view would pin the whole chunk until the next one arrives.
  if (off < end) m.rest = Buffer.from(buf.subarray(off))
}
