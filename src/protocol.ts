/**
 * Wire protocol v1: what clients send, what the server sends back, and the
 * close codes. Read this file to learn the wire format.
 *
 * Two modes share a room:
 * - raw (default): text frames go byte for byte to every member, the sender
 *   included; binary frames go out as binary. No envelopes.
 * - json: the client asks for subprotocol `roomcast.v1` (or `?protocol=roomcast.v1`)
 *   and speaks the frames below.
 */

/** The subprotocol that selects json mode (`roomcast.v1`), and the room-name check; they live in names.ts. */
export { SUBPROTOCOL, isRoomName } from './names.ts'
import { SUBPROTOCOL } from './names.ts'

/**
 * The subprotocol to echo for a `Sec-WebSocket-Protocol` request header: roomcast.v1 when offered, else none.
 * Never another offered entry: a client may offer a credential there, and an echo would leak it into logs.
 */
export function chooseSubprotocol(offered: string | null | undefined): typeof SUBPROTOCOL | undefined {
  if (!offered) return undefined
  return offered.split(',').some((p) => p.trim() === SUBPROTOCOL) ? SUBPROTOCOL : undefined
}

/** A connection's wire mode. */
export type Mode = 'raw' | 'json'

// ---- client -> server (json mode) ----

/** Publish `data` to the room; with `id`, the server answers with an `ack`. */
export interface PublishFrame {
  type: 'publish'
  data: unknown
  id?: string
}

/** Ask for a `pong`. */
export interface PingFrame {
  type: 'ping'
}

export type ClientFrame = PublishFrame | PingFrame

// ---- server -> client (json mode) ----

/** Sent once on open. `seq` is the room's last sequence number. */
export interface WelcomeFrame {
  type: 'welcome'
  room: string
  connectionId: string
  seq: number
  epoch: string
  /** Present when the client asked to resume with `?since=N`. */
  resumed?: { since: number; complete: boolean }
}

/** A message published to the room, to every member but the publisher. */
export interface MessageFrame {
  type: 'message'
  room: string
  seq: number
  /** The published value; for a raw binary frame, its bytes in base64 (and `binary: true`). */
  data: unknown
  ts: number
  /** The publisher's authenticated identity, when the server knows it. */
  from?: string
  binary?: true
}

/** Confirms a publish that carried an `id`. */
export interface AckFrame {
  type: 'ack'
  id: string
  seq: number
}

/** The room's member count changed (sent at most once per presence interval). */
export interface PresenceFrame {
  type: 'presence'
  room: string
  connections: number
}

/** A frame was refused; the connection stays open unless a close follows. */
export interface ErrorFrame {
  type: 'error'
  code: ErrorCode
  message: string
  id?: string
}

export interface PongFrame {
  type: 'pong'
}

export type ServerFrame = WelcomeFrame | MessageFrame | AckFrame | PresenceFrame | ErrorFrame | PongFrame

// ---- close codes (RFC 6455 section 7.4) ----

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

// ---- error codes: one table, with the close code that follows (if any) ----

/** Every error the server reports, its close code (null: the connection stays open) and a readable message. */
export const Errors = {
  bad_json: { close: null, message: 'frame is not valid JSON' },
  bad_frame: { close: null, message: 'frame must be a JSON object with a known "type"' },
  rate_limited: { close: null, message: 'publish rate limit exceeded; frame dropped' },
  forbidden: { close: null, message: 'this connection may not publish' },
  unavailable: { close: null, message: 'the room is unavailable right now; try again' },
  too_large: { close: CloseCode.tooLarge, message: 'frame exceeds the size limit' },
  binary_unsupported: { close: CloseCode.unsupportedData, message: 'binary frames are not accepted in json mode' },
  too_many_errors: { close: CloseCode.policy, message: 'too many bad frames' },
  flooding: { close: CloseCode.policy, message: 'sustained publishing past the rate limit' },
  room_full: { close: CloseCode.tryAgainLater, message: 'room is full' },
  backend_down: { close: CloseCode.tryAgainLater, message: "the room's backend is unreachable; try again later" },
  resync: { close: CloseCode.serviceRestart, message: 'this server lost its place in the room; reconnect with since and epoch to resume' },
  slow_consumer: { close: CloseCode.tryAgainLater, message: 'too much unsent data; read faster' },
  idle_timeout: { close: CloseCode.goingAway, message: 'no frame or pong within the idle timeout' },
  token_expired: { close: 4001, message: 'credentials expired; reconnect with a new token' },
  shutting_down: { close: CloseCode.goingAway, message: 'server shutting down' },
  internal: { close: CloseCode.internal, message: 'internal error' },
} as const satisfies Record<string, { close: number | null; message: string }>

export type ErrorCode = keyof typeof Errors

/** The reason a close for `code` carries: `"<code>: <message>"`. */
export function closeReason(code: ErrorCode): string {
  return `${code}: ${Errors[code].message}`
}

// ---- decoding ----

/** The result of decoding one json-mode text frame: a frame, or an error to send back. */
export type Decoded =
  | { ok: true; frame: ClientFrame; dataJson?: string }
  | { ok: false; code: 'bad_json' | 'bad_frame'; message: string; id?: string }

const MAX_ID_LENGTH = 256
const hasOwn = Object.prototype.hasOwnProperty

/**
 * Decode a json-mode text frame. Never throws. For a publish, `dataJson` is
 * `data` serialised once, ready for fan-out. Keys such as `__proto__` in
 * `data` are harmless: JSON.parse makes them plain own properties, and the
 * server never merges client objects into its own.
 */
export function decodeClientFrame(text: string): Decoded {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, code: 'bad_json', message: Errors.bad_json.message }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_frame', message: 'frame must be a JSON object' }
  }
  const obj = value as Record<string, unknown>
  const type = hasOwn.call(obj, 'type') ? obj.type : undefined
  let id: string | undefined
  if (hasOwn.call(obj, 'id') && obj.id !== undefined) {
    if (typeof obj.id !== 'string' || obj.id.length === 0 || obj.id.length > MAX_ID_LENGTH) {
      return { ok: false, code: 'bad_frame', message: `"id" must be a string of 1 to ${MAX_ID_LENGTH} characters` }
    }
    id = obj.id
  }
  if (type === 'ping') return { ok: true, frame: { type: 'ping' } }
  if (type !== 'publish') {
    const message = typeof type === 'string' ? `unknown frame type "${type.slice(0, 32)}"` : 'frame needs a string "type"'
    return { ok: false, code: 'bad_frame', message, id }
  }
  if (!hasOwn.call(obj, 'data') || obj.data === undefined) {
    return { ok: false, code: 'bad_frame', message: 'publish needs "data"', id }
  }
  let dataJson: string
  try {
    // Re-serialising can overflow the stack on pathologically deep nesting.
    dataJson = JSON.stringify(obj.data)
  } catch {
    return { ok: false, code: 'bad_frame', message: '"data" is nested too deeply', id }
  }
  const frame: PublishFrame = id === undefined ? { type: 'publish', data: obj.data } : { type: 'publish', data: obj.data, id }
  return { ok: true, frame, dataJson }
}

// ---- encoding ----

/** Encode an `error` frame. */
export function encodeError(code: ErrorCode, message: string = Errors[code].message, id?: string): string {
  const frame: ErrorFrame = id === undefined ? { type: 'error', code, message } : { type: 'error', code, message, id }
  return JSON.stringify(frame)
}

/** Encode an `ack` frame. */
export function encodeAck(id: string, seq: number): string {
  return `{"type":"ack","id":${JSON.stringify(id)},"seq":${seq}}`
}

/** Encode a `presence` frame. */
export function encodePresence(room: string, connections: number): string {
  return `{"type":"presence","room":${JSON.stringify(room)},"connections":${connections}}`
}

/** Encode the `pong` frame (a constant). */
export const PONG = '{"type":"pong"}'
