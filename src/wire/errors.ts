/**
 * Every error the server reports on a WebSocket, in one table: the close code
 * that follows it (null: the connection stays open), whether trying again can
 * help, and a readable message. No imports, so the browser client bundles it.
 */

/** The close codes the server sends (RFC 6455 section 7.4; 1012 and 1013 are IANA-registered, 4001 and 4002 are ours). */
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
  // Certainly not published: the backend was never asked. Sending the same publish again is safe.
  unavailable: { close: null, retry: 'reconnect', message: 'the room is unavailable right now; nothing was published; try again' },
  // Sent to the backend, which did not confirm it in time: it may reach every member later, or never (never some of them).
  // An `ack` with the same id follows if it does. Sending it again may deliver it twice.
  outcome_unknown: {
    close: null,
    retry: 'reconnect',
    message: 'sent, not confirmed: it may yet reach all members (an ack then follows) or none; a resend may duplicate it',
  },
  // The application's hook threw or timed out; it may well answer next time.
  hook_failed: { close: null, retry: 'reconnect', message: "the application's hook failed; nothing was published" },
  // The application's hook did not answer within HOOK_TIMEOUT_MS; a later try may find it faster.
  hook_timeout: { close: null, retry: 'reconnect', message: "the application's hook did not answer in time; nothing was published" },
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
  // An operator closed the connection (POST /admin/rooms/:room/disconnect): reconnecting at once would undo that.
  kicked: { close: 4002, retry: 'terminal', message: 'disconnected by an operator' },
  shutting_down: { close: CloseCode.goingAway, retry: 'reconnect', message: 'server shutting down' },
  internal: { close: CloseCode.internal, retry: 'reconnect', message: 'internal error' },
  // Protocol v2 (wire/v2.ts): refusals of one subscribe; the connection and its other subscriptions stay.
  bad_room: { close: null, retry: 'terminal', message: 'room names are 1 to 64 of A-Z a-z 0-9 _ . -' },
  too_many_subscriptions: { close: null, retry: 'terminal', message: 'this connection has MAX_SUBSCRIPTIONS subscriptions; unsubscribe one first' },
  already_subscribed: { close: null, retry: 'terminal', message: 'this connection is already subscribed to this room' },
  too_many_rooms: { close: null, retry: 'reconnect', message: 'this server holds MAX_ROOMS rooms; try again later' },
  // A v2 socket opened on /rooms/:room serves that room only (on Cloudflare, the room's own Durable Object holds it).
  wrong_room: { close: null, retry: 'terminal', message: "this socket serves its URL's room only; use another socket for another room" },
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
