/** A real `ws` client with an awaitable inbox, for scenario tests. */
import WebSocket from 'ws'

export interface Received {
  data: string | Buffer
  binary: boolean
}

export interface Closed {
  code: number
  reason: string
}

/** A connected test client. */
export class TestClient {
  readonly inbox: Received[] = []
  readonly closed: Promise<Closed>
  private waiters: (() => void)[] = []

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.inbox.push({ data: binary ? data : data.toString('utf8'), binary })
      for (const w of this.waiters.splice(0)) w()
    })
    ws.on('error', () => {})
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  send(data: string | Buffer | object): void {
    this.ws.send(typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data))
  }

  /** The next frame (in arrival order), waiting up to `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const frame = this.inbox.shift()
      if (frame !== undefined) return frame
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** The next text frame as a string. */
  async text(timeoutMs?: number): Promise<string> {
    const r = await this.next(timeoutMs)
    if (r.binary) throw new Error(`expected a text frame, got binary ${r.data.length} bytes`)
    return r.data as string
  }

  /** The next json frame of `type`, skipping others that `skip` allows (default: presence). */
  async frame<T = any>(type: string, timeoutMs = 5000, skip: string[] = ['presence']): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const f = JSON.parse(await this.text(Math.max(1, deadline - Date.now())))
      if (f.type === type) return f
      if (!skip.includes(f.type)) throw new Error(`expected ${type}, got ${JSON.stringify(f)}`)
    }
  }

  /** Collect `n` frames of `type` (skipping presence). */
  async frames<T = any>(type: string, n: number, timeoutMs = 10000): Promise<T[]> {
    const out: T[] = []
    const deadline = Date.now() + timeoutMs
    while (out.length < n) out.push(await this.frame<T>(type, Math.max(1, deadline - Date.now())))
    return out
  }

  /**
   * Read json frames until one satisfies `last` (within `timeoutMs` in all) and return them all, that one
   * included: a test waits for a frame it knows comes last (a sentinel sent after), instead of for a quiet spell.
   */
  async until<T = any>(last: (frame: T) => boolean, timeoutMs = 10000): Promise<T[]> {
    const out: T[] = []
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const f = JSON.parse(await this.text(Math.max(1, deadline - Date.now()))) as T
      out.push(f)
      if (last(f)) return out
    }
  }

  /** Wait until no frame arrives for `ms`, then return (and drop) what came. */
  async drain(ms = 150): Promise<Received[]> {
    let seen = -1
    while (seen !== this.inbox.length) {
      seen = this.inbox.length
      await new Promise((r) => setTimeout(r, ms))
    }
    return this.inbox.splice(0)
  }

  /**
   * When the server's Close frame arrived (Date.now()), which can be well before `closed`:
   * that waits for the TCP connection to end, which some runtimes delay.
   */
  closing(): Promise<number> {
    return new Promise((resolve) => {
      const poll = setInterval(() => {
        if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) return
        clearInterval(poll)
        resolve(Date.now())
      }, 5)
    })
  }

  close(code = 1000): Promise<Closed> {
    this.ws.close(code)
    return this.closed
  }
}

export interface ConnectOptions {
  protocols?: string | string[]
  headers?: Record<string, string>
}

/** Open a WebSocket and resolve when it is open; rejects with the HTTP status on refusal. */
export function connect(url: string, opts: ConnectOptions = {}): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers, perMessageDeflate: false })
    const client = new TestClient(ws)
    ws.once('open', () => resolve(client))
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }))
      ws.terminate()
    })
    ws.once('error', (err) => reject(err))
  })
}

/** Open a json-mode client and consume its welcome. */
export async function connectJson(url: string, opts: ConnectOptions = {}): Promise<{ client: TestClient; welcome: any }> {
  const client = await connect(url, { ...opts, protocols: opts.protocols ?? 'roomcast.v1' })
  const welcome = await client.frame('welcome')
  return { client, welcome }
}

/** Expect an upgrade to be refused; resolves with the HTTP status. */
export async function refusedStatus(url: string, opts: ConnectOptions = {}): Promise<number> {
  try {
    const c = await connect(url, opts)
    c.ws.terminate()
  } catch (err) {
    const status = (err as { status?: number }).status
    if (status !== undefined) return status
    throw err
  }
  throw new Error(`upgrade to ${url} was accepted`)
}

/** What an upgrade refused before the handshake answered. */
export interface Refused {
  status: number
  /** The error code from `X-Roomcast-Error` (a refused upgrade's body is dropped on some runtimes). */
  error: string | undefined
  headers: Record<string, string | string[] | undefined>
  /** The JSON error body where the runtime delivers it, else the empty string. */
  body: any
}

/** Expect an upgrade to be refused; resolves with the HTTP status, headers and JSON body. */
export function refused(url: string, opts: ConnectOptions = {}): Promise<Refused> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers, perMessageDeflate: false })
    ws.once('open', () => {
      ws.terminate()
      reject(new Error(`upgrade to ${url} was accepted`))
    })
    ws.once('unexpected-response', (_req, res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => {
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {
          // not JSON; the assertion on body will say so
        }
        const error = res.headers['x-roomcast-error']
        resolve({ status: res.statusCode ?? 0, error: typeof error === 'string' ? error : undefined, headers: res.headers, body })
        ws.terminate()
      })
    })
    ws.once('error', (err) => reject(err))
  })
}

/** A room name no other test uses. */
export function uniqueRoom(prefix = 't'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Poll `GET /rooms/:room` on `http` until it counts `n` connections or `timeoutMs` passes; returns the last count. */
export async function waitForConnections(http: string, room: string, n: number, timeoutMs = 10000, everyMs = 50): Promise<number> {
  const count = async () => ((await (await fetch(`${http}/rooms/${room}`)).json()) as { connections: number }).connections
  const deadline = Date.now() + timeoutMs
  let c = await count()
  while (c !== n && Date.now() < deadline) {
    await sleep(everyMs)
    c = await count()
  }
  return c
}
