/**
 * Every error the server reports on a WebSocket, in one table: the close code
 * that follows it (null: the connection stays open), whether trying again can
 * help, and a readable message. No imports, so the browser client bundles it.
 */

/** The close codes the server sends (RFC 6455 section 7.4; 1012 and 1013 are IANA-registered, 4001 is ours). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policy: 1008,
  tooLarge: 1009,
  internal: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013,
} as const

/**
 * Whether trying again can succeed (centrifuge's split of its disconnect codes).
 * - `reconnect`: after a close, reconnect (with backoff, and with `since`/`epoch` to resume);
 *   for an error that keeps the connection open, the same frame may succeed later.
 * - `terminal`: the same request fails the same way again; a client should stop and say why.
 */
export type Retry = 'reconnect' | 'terminal'

/** One row of the Errors table. */
export interface ErrorSpec {
  close: number | null
  retry: Retry
  message: string
}

/** Every error the server reports on a connection, its close code (null: the connection stays open), its retry class and a readable message. */
export const Errors = {
  bad_json: { close: null, retry: 'terminal', message: 'frame is not valid JSON' },
  bad_frame: { close: null, retry: 'terminal', message: 'frame must be a JSON object with a known "type"' },
  rate_limited: { close: null, retry: 'reconnect', message: 'publish rate limit exceeded; frame dropped' },
  forbidden: { close: null, retry: 'terminal', message: 'this connection may not publish' },
  unavailable: { close: null, retry: 'reconnect', message: 'the room is unavailable right now; try again' },
  // The application's hook threw or timed out; it may well answer next time.
  hook_failed: { close: null, retry: 'reconnect', message: "the application's hook failed; nothing was published" },
  too_large: { close: CloseCode.tooLarge, retry: 'terminal', message: 'frame exceeds the size limit' },
  binary_unsupported: { close: CloseCode.unsupportedData, retry: 'terminal', message: 'binary frames are not accepted in json mode' },
  // The runtime handed over a payload that is neither text nor bytes; the same frame would get the same answer.
  unsupported_payload: { close: CloseCode.unsupportedData, retry: 'terminal', message: 'unsupported message payload' },
  too_many_errors: { close: CloseCode.policy, retry: 'terminal', message: 'too many bad frames' },
  flooding: { close: CloseCode.policy, retry: 'reconnect', message: 'sustained publishing past the rate limit' },
  room_full: { close: CloseCode.tryAgainLater, retry: 'reconnect', message: 'room is full' },
  backend_down: { close: CloseCode.tryAgainLater, retry: 'reconnect', message: "the room's backend is unreachable; try again later" },
  resync: { close: CloseCode.serviceRestart, retry: 'reconnect', message: 'this server lost its place in the room; reconnect with since and epoch to resume' },
  slow_consumer: { close: CloseCode.tryAgainLater, retry: 'reconnect', message: 'too much unsent data; read faster' },
  idle_timeout: { close: CloseCode.goingAway, retry: 'reconnect', message: 'no frame or pong within the idle timeout' },
  token_expired: { close: 4001, retry: 'reconnect', message: 'credentials expired; reconnect with a new token' },
  shutting_down: { close: CloseCode.goingAway, retry: 'reconnect', message: 'server shutting down' },
  internal: { close: CloseCode.internal, retry: 'reconnect', message: 'internal error' },
} as const satisfies Record<string, ErrorSpec>

/** A code of the Errors table. */
export type ErrorCode = keyof typeof Errors

/** The reason of a close for `code`: `"<code>: <message>"` (what a client parses the code back from). */
export function closeReason(code: ErrorCode, message: string = Errors[code].message): string {
  return `${code}: ${message}`
}

/** The code a close reason names (`"<code>: ..."`), if it is one of the table's. */
export function closeReasonCode(reason: string): ErrorCode | undefined {
  const colon = reason.indexOf(':')
  const code = colon < 0 ? reason : reason.slice(0, colon)
  return Object.hasOwn(Errors, code) ? (code as ErrorCode) : undefined
}
