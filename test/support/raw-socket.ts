/** A hand-driven WebSocket over TCP, for clients that misbehave in ways a real client library will not. */
import { randomBytes } from 'node:crypto'
import net from 'node:net'

/** The upgrade response as the server sent it: status and lower-cased headers. */
export interface UpgradeResponse {
  status: number
  headers: Record<string, string>
}

/** Open a TCP connection, complete the WebSocket handshake, and hand back the socket (never reading further). */
export async function handshake(port: number, path = '/', headers: Record<string, string> = {}): Promise<net.Socket> {
  const { socket, response } = await upgrade(port, path, headers)
  if (response.status !== 101) {
    socket.destroy()
    throw new Error(`handshake refused: ${response.status}`)
  }
  return socket
}

/** Send an upgrade request with extra `headers` and return the server's response, closing the socket. */
export async function upgradeResponse(port: number, path: string, headers: Record<string, string>): Promise<UpgradeResponse> {
  const { socket, response } = await upgrade(port, path, headers)
  socket.destroy()
  return response
}

function upgrade(port: number, path: string, headers: Record<string, string>): Promise<{ socket: net.Socket; response: UpgradeResponse }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const key = randomBytes(16).toString('base64')
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    let head = ''
    socket.once('error', reject)
    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      )
    })
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      socket.off('data', onData)
      // Stop reading: the server's pings pile up unanswered, as with a vanished peer.
      socket.pause()
      const [statusLine = '', ...lines] = head.slice(0, end).split('\r\n')
      const response: UpgradeResponse = { status: Number(statusLine.split(' ')[1]), headers: {} }
      for (const line of lines) {
        const colon = line.indexOf(':')
        response.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve({ socket, response })
    }
    socket.on('data', onData)
  })
}

/** A masked client frame header for `opcode` announcing `length` payload bytes (payload not included). */
export function frameHeader(opcode: number, length: number, fin = true): Buffer {
  const mask = randomBytes(4)
  let head: Buffer
  if (length < 126) head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | length])
  else if (length < 65536) {
    head = Buffer.alloc(4)
    head[0] = (fin ? 0x80 : 0) | opcode
    head[1] = 0x80 | 126
    head.writeUInt16BE(length, 2)
  } else {
    head = Buffer.alloc(10)
    head[0] = (fin ? 0x80 : 0) | opcode
    head[1] = 0x80 | 127
    head.writeBigUInt64BE(BigInt(length), 2)
  }
  return Buffer.concat([head, mask])
}

/** What a server did with a request head sent over raw TCP. */
export interface HeadOutcome {
  /** The response's status line, or '' if none came. */
  statusLine: string
  /** Milliseconds until the server closed the connection, or null if it was still open at the deadline. */
  closedAfterMs: number | null
}

/** Write `head` (possibly incomplete) and watch what the server does, for up to `waitMs`. */
export function sendHead(port: number, head: string, waitMs: number): Promise<HeadOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const started = Date.now()
    let out = ''
    const done = (closedAfterMs: number | null) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ statusLine: out.split('\r\n')[0] ?? '', closedAfterMs })
    }
    const timer = setTimeout(() => done(null), waitMs)
    socket.on('data', (chunk: Buffer) => (out += chunk.toString('latin1')))
    socket.on('error', () => {})
    socket.on('close', () => done(Date.now() - started))
    socket.on('connect', () => socket.write(head))
  })
}

/** A frame from the server (servers never mask), as a raw socket reads it. */
export interface ServerFrame {
  opcode: number
  payload: Buffer
}

/** Read the server's frames from a handshaken `socket` (resuming it) and hand each to `onFrame`; answers nothing. */
export function readFrames(socket: net.Socket, onFrame: (frame: ServerFrame) => void): void {
  let buf = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk])
    for (;;) {
      if (buf.length < 2) return
      let length = buf.readUInt8(1) & 0x7f
      let offset = 2
      if (length === 126) {
        if (buf.length < 4) return
        length = buf.readUInt16BE(2)
        offset = 4
      } else if (length === 127) {
        if (buf.length < 10) return
        length = Number(buf.readBigUInt64BE(2))
        offset = 10
      }
      if (buf.length < offset + length) return
      onFrame({ opcode: buf.readUInt8(0) & 0x0f, payload: buf.subarray(offset, offset + length) })
      buf = buf.subarray(offset + length)
    }
  })
  socket.resume()
}

/** An HTTP response read off a raw socket: status, lower-cased headers, body (empty for a 101). */
export interface RawResponse extends UpgradeResponse {
  body: string
}

/** Send `head` (a whole request head, for requests a real client cannot make) and read the response. */
export function rawRequest(port: number, head: string, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let got = Buffer.alloc(0)
    const timer = setTimeout(() => finish(new Error(`no whole response within ${timeoutMs} ms: ${got.toString('latin1')}`)), timeoutMs)
    const finish = (err?: Error) => {
      clearTimeout(timer)
      socket.destroy()
      if (err !== undefined) return reject(err)
      const text = got.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
      const response: RawResponse = { status: Number(statusLine.split(' ')[1]), headers: {}, body: got.subarray(end + 4).toString('utf8') }
      for (const line of lines) {
        const colon = line.indexOf(':')
        response.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve(response)
    }
    /** Whether `got` holds the whole response: the head, and the body its Content-Length announces. */
    const complete = (): boolean => {
      const text = got.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return false
      if (/^HTTP\/1\.1 101/.test(text)) return true
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end))
      return length !== null && got.length - (end + 4) >= Number(length[1])
    }
    socket.on('error', (err) => finish(err))
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk])
      if (complete()) finish()
    })
    socket.on('end', () => finish())
    socket.on('connect', () => socket.write(head))
  })
}

/** The head of a WebSocket upgrade request to `target`, with `headers` replacing or adding to the usual ones (null: leave one out). */
export function upgradeHead(target: string, port: number, headers: Record<string, string | null> = {}): string {
  const all: Record<string, string | null> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  }
  const lines = Object.entries(all).filter((e): e is [string, string] => e[1] !== null)
  return `GET ${target} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`
}
