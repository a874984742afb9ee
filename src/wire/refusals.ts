/**
 * Every HTTP refusal, in one table: the status, whether trying again can help,
 * `Retry-After` for 429 and 503, and a default message. One builder turns a
 * refusal into the web-standard Response every runtime sends (the Hono app and
 * the Durable Object alike). No imports beyond errors.ts and names.ts, so the browser client
 * can bundle the table.
 */
import type { Retry } from './errors.ts'
import { ROOM_NAME_RULE } from './names.ts'

/** One row of the Refusals table. */
export interface RefusalSpec {
  status: 400 | 401 | 403 | 404 | 413 | 415 | 422 | 426 | 429 | 500 | 503 | 504
  retry: Retry
  /** Seconds for `Retry-After` (429 and 503 only). */
  retryAfter?: number
  message: string
}

/** Every code an HTTP refusal (of an upgrade, a publish, a read) carries in its body and in `X-Roomcast-Error`. */
export const Refusals = {
  bad_room: { status: 400, retry: 'terminal', message: ROOM_NAME_RULE },
  bad_request: { status: 400, retry: 'terminal', message: 'the request is malformed' },
  bad_json: { status: 400, retry: 'terminal', message: 'body is not valid JSON' },
  empty_body: { status: 400, retry: 'terminal', message: 'the body is empty; send the message as the request body' },
  unauthorized: { status: 401, retry: 'terminal', message: 'credentials are required' },
  forbidden: { status: 403, retry: 'terminal', message: 'these credentials do not allow this' },
  bad_origin: { status: 403, retry: 'terminal', message: 'this origin may not connect; see ALLOWED_ORIGINS' },
  not_found: { status: 404, retry: 'terminal', message: 'no such route' },
  too_large: { status: 413, retry: 'terminal', message: 'body exceeds the size limit' },
  unsupported_version: { status: 426, retry: 'terminal', message: 'only WebSocket version 13 is supported' },
  unsupported_type: { status: 415, retry: 'terminal', message: "send the header 'content-type: text/plain' or 'content-type: application/json'" },
  // The IETF Idempotency-Key draft's answer to a key reused for another request: the first one stands.
  idempotency_mismatch: {
    status: 422,
    retry: 'terminal',
    message: 'this Idempotency-Key was used for a different body within the dedupe window; use a new key for a new message',
  },
  rate_limited: { status: 429, retry: 'reconnect', retryAfter: 1, message: 'too many requests; try again shortly' },
  internal: { status: 500, retry: 'reconnect', message: 'internal error' },
  hook_failed: { status: 500, retry: 'reconnect', message: "the application's hook failed" },
  hook_timeout: { status: 504, retry: 'reconnect', message: "the application's hook did not answer in time" },
  unavailable: { status: 503, retry: 'reconnect', retryAfter: 5, message: 'not ready; nothing was published; try again' },
  // The backend was asked and did not confirm in time: the publish may still reach every member, or none.
  outcome_unknown: {
    status: 504,
    retry: 'reconnect',
    message: 'the publish was sent but not confirmed: it may still reach every member or none; resending may deliver it twice',
  },
  server_full: { status: 503, retry: 'reconnect', retryAfter: 5, message: 'this server is at its connection limit; try again later' },
  room_full: { status: 503, retry: 'reconnect', retryAfter: 5, message: 'room is full; try again later' },
  // Rooms this instance holds go when empty for ROOM_TTL_MS; existing rooms keep working meanwhile.
  too_many_rooms: {
    status: 503,
    retry: 'reconnect',
    retryAfter: 30,
    message: 'this server holds as many rooms as it may (MAX_ROOMS); use an existing room or try again later',
  },
} as const satisfies Record<string, RefusalSpec>

/** A code of the Refusals table. */
export type RefusalCode = keyof typeof Refusals

/** Why a request is turned away: the HTTP status, a stable code, a readable message and `Retry-After` seconds. */
export interface Refusal {
  status: RefusalSpec['status']
  error: RefusalCode
  message: string
  /** Seconds, for `Retry-After`. */
  retryAfter?: number
}

/** A refusal with the application's own code and status (a hook's denial or rejection). */
export interface AppRefusal {
  status: number
  error: string
  message: string
  retryAfter?: number
}

/** The refusal for `code`, with the table's status and Retry-After, and its default message unless one is given. */
export function refusal(code: RefusalCode, message?: string, retryAfter?: number): Refusal {
  const spec: RefusalSpec = Refusals[code]
  const r: Refusal = { status: spec.status, error: code, message: message ?? spec.message }
  const after = retryAfter ?? spec.retryAfter
  if (after !== undefined) r.retryAfter = after
  return r
}

/**
 * The HTTP answer for a refusal: `{error, message}` as JSON, the code again in
 * `X-Roomcast-Error` (most WebSocket clients expose only the status and headers
 * of a refused upgrade, never its body), `Retry-After` on 429 and 503 and
 * `WWW-Authenticate` on 401.
 */
export function refusalResponse(r: Refusal | AppRefusal | RefusalCode, message?: string): Response {
  const { status, error, message: text, retryAfter } = typeof r === 'string' ? refusal(r, message) : r
  const headers = new Headers({ 'Content-Type': 'application/json', 'X-Roomcast-Error': error })
  if (status === 429 || status === 503) headers.set('Retry-After', String(retryAfter ?? 5))
  if (status === 401) headers.set('WWW-Authenticate', 'Bearer realm="roomcast"')
  return new Response(JSON.stringify({ error, message: text }), { status, headers })
}
