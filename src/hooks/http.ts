/**
 * HTTP hooks (Centrifugo's proxy model): `authorize` and `message` as a POST
 * of a JSON event to the application's backend (HOOK_URL), signed with
 * HOOK_SECRET (sign.ts), whose JSON answer is followed as an in-process hook's
 * would be. For backends not written in JavaScript; docs/hooks.md has the
 * wire format. Everything here is a plain Hooks object, so time limits and
 * failures are handled where every hook's are (limit.ts).
 */
import type { Config } from '../config/config.ts'
import { ConfigError } from '../config/config-error.ts'
import { toBase64 } from '../wire/bytes.ts'
import type { AuthorizeRequest, AuthorizeResult, ConnectRequest, Denial, Hooks, MessageRequest, MessageResult } from './hooks.ts'
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, hmacKey, signBody } from './sign.ts'

/** Where and how HTTP hooks are sent. */
export interface HttpHooksOptions {
  /** The backend's endpoint (`HOOK_URL`): every event is a POST of JSON to it. */
  url: string
  /** Signs every body (`HOOK_SECRET`); without it, requests are unsigned. */
  secret?: string
  /** The time limit (`HOOK_TIMEOUT_MS`); the fetch is aborted a little after it. */
  timeoutMs: number
  /**
   * Whether the request's credentials (Authorization, the subprotocol list, `?token=`) are forwarded to the
   * backend: true when roomcast checks none itself, so credentials go to exactly one checker.
   */
  forwardCredentials: boolean
  /** Default: the runtime's fetch. */
  fetch?: typeof fetch
}

/** Headers never forwarded: the handshake's own, which say nothing about who is asking. */
const HANDSHAKE_HEADERS = new Set(['sec-websocket-key', 'sec-websocket-extensions', 'sec-websocket-version', 'connection', 'upgrade'])
/** Headers that carry roomcast's credentials, forwarded only when roomcast does not check them itself. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'sec-websocket-protocol'])

/** The hooks that POST each event to `options.url`. */
export function httpHooks(options: HttpHooksOptions): Hooks {
  const doFetch = options.fetch ?? fetch
  const key = options.secret === undefined ? undefined : hmacKey(options.secret)
  const post = async (event: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const body = JSON.stringify(event)
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'roomcast-hooks' }
    if (key !== undefined) {
      const timestamp = String(Math.floor(Date.now() / 1000))
      headers[TIMESTAMP_HEADER] = timestamp
      headers[SIGNATURE_HEADER] = await signBody(await key, timestamp, body)
    }
    // The hook's own timer answers hook_timeout first; the abort frees the connection after it.
    const res = await doFetch(options.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(options.timeoutMs + 1000) })
    const text = await res.text()
    if (!res.ok) throw new Error(`HOOK_URL answered ${res.status} to ${String(event.event)}`)
    let answer: unknown
    try {
      answer = text === '' ? {} : JSON.parse(text)
    } catch {
      throw new Error(`HOOK_URL answered ${String(event.event)} with a body that is not JSON`)
    }
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer))
      throw new Error(`HOOK_URL answered ${String(event.event)} with JSON that is not an object`)
    return answer as Record<string, unknown>
  }

  return {
    async authorize(req) {
      return authorizeAnswer(await post(authorizeEvent(req, options.forwardCredentials)))
    },
    async message(msg) {
      return messageAnswer(await post(messageEvent(msg)))
    },
  }
}

/** The hooks HOOK_URL and HOOK_SECRET describe, or undefined when HOOK_URL is unset. */
export function httpHooksFromEnv(env: Record<string, string | undefined>, config: Config): Hooks | undefined {
  const url = env.HOOK_URL?.trim()
  if (url === undefined || url === '') return undefined
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`HOOK_URL=${url} is not a URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError('HOOK_URL must be an http:// or https:// URL')
  const secret = env.HOOK_SECRET?.trim() || undefined
  const a = config.access
  const checksCredentials = a.authSecret !== undefined || a.authJwksUrl !== undefined || a.authPublicKey !== undefined || a.publishKey !== undefined
  return httpHooks({ url: parsed.href, secret, timeoutMs: config.hookTimeoutMs, forwardCredentials: !checksCredentials })
}

function authorizeEvent(req: AuthorizeRequest | ConnectRequest, forwardCredentials: boolean): Record<string, unknown> {
  const url = new URL(req.request.url)
  const headers: Record<string, string> = {}
  req.request.headers.forEach((value, name) => {
    if (HANDSHAKE_HEADERS.has(name) || (!forwardCredentials && CREDENTIAL_HEADERS.has(name))) return
    headers[name] = value
  })
  const query: Record<string, string> = {}
  for (const [name, value] of url.searchParams) if (forwardCredentials || name !== 'token') query[name] = value
  // A v2 upgrade (`connect`) is for no room: the event has no `room` then; v2's events carry `protocol`.
  const event: Record<string, unknown> = {
    event: 'authorize',
    room: req.room,
    action: req.action,
    protocol: req.protocol,
    method: req.request.method,
    path: url.pathname,
    query,
    headers,
  }
  if (req.grant !== undefined) event.grant = req.grant
  return event
}

function authorizeAnswer(a: Record<string, unknown>): AuthorizeResult {
  if (a.deny === true) {
    const denial: Denial = { deny: typeof a.code === 'string' && a.code !== '' ? a.code : 'forbidden' }
    if (typeof a.status === 'number') denial.status = a.status as Denial['status']
    if (typeof a.message === 'string') denial.message = a.message
    return denial
  }
  if (a.allow !== true) throw new Error('HOOK_URL answered authorize with neither "allow": true nor "deny": true')
  const identity: { sub?: string; canPublish?: boolean; info?: Record<string, unknown> } = {}
  if (a.sub !== undefined) identity.sub = a.sub as string
  if (a.canPublish !== undefined) identity.canPublish = a.canPublish as boolean
  if (a.info !== undefined) identity.info = a.info as Record<string, unknown>
  // Checked as an in-process hook's identity is (authorize.ts): a bad one is hook_failed.
  return identity
}

function messageEvent(msg: MessageRequest): Record<string, unknown> {
  const event: Record<string, unknown> = { event: 'message', room: msg.room, kind: msg.kind }
  // Bytes (raw-mode binary frames) travel as base64.
  if (msg.data instanceof Uint8Array) {
    event.data = toBase64(msg.data)
    event.encoding = 'base64'
  } else event.data = msg.data
  if (msg.from !== undefined) event.from = msg.from
  if (msg.connectionId !== undefined) event.connectionId = msg.connectionId
  if (msg.info !== undefined) event.info = msg.info
  return event
}

function messageAnswer(a: Record<string, unknown>): MessageResult {
  if (a.reject === true) {
    const r: { reject: string; message?: string; status?: number } = { reject: typeof a.code === 'string' && a.code !== '' ? a.code : 'rejected' }
    if (typeof a.message === 'string') r.message = a.message
    if (typeof a.status === 'number') r.status = a.status
    return r
  }
  if (a.data !== undefined) return { data: a.data }
  return undefined
}
