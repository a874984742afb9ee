/**
 * Protocol v2: many rooms over one connection (subprotocol `roomcast.v2` on
 * `/`), with presence that names who is here. Its frames, the decoder of what
 * a client sends and the encoders of what the server sends. A v2 `message`
 * frame is v1's, byte for byte (encode.ts's encodeMessage): v1 and v2 members
 * of a room share each broadcast's one encoding.
 *
 *   client -> server  subscribe {room, id?, since?, epoch?, presence?}   unsubscribe {room, id?}
 *                     publish {room, data, id?}   ping
 *   server -> client  welcome {connectionId, protocol, sub?}   subscribed {room, seq, epoch, id?, resumed?}
 *                     unsubscribed {room, id?}   ack {id, room, seq, duplicate?}   message {room, seq, data, ts, from?, binary?}
 *                     presence {room, connections, members|joins+leaves, truncated?}
 *                     error {code, message, room?, id?}   pong
 */

import { MAX_JSON_DEPTH, nestedTooDeeply } from './decode.ts'
import type { ErrorCode } from './errors.ts'
import { Errors } from './errors.ts'
import { SUBPROTOCOL_V2, isRoomName } from './names.ts'

/** Subscribe to `room`; with `since` (and `epoch`) resume after that seq; with `presence`, get the roster. */
export interface SubscribeFrame {
  type: 'subscribe'
  room: string
  id?: string
  since?: number
  epoch?: string
  presence?: boolean
}

/** Stop receiving `room`'s frames. */
export interface UnsubscribeFrame {
  type: 'unsubscribe'
  room: string
  id?: string
}

/** Publish `data` to `room`, subscribed or not; with `id`, the server answers with an `ack`, and the id is deduplicated as in v1. */
export interface PublishV2Frame {
  type: 'publish'
  room: string
  data: unknown
  id?: string
}

/** Any frame a v2 client sends. */
export type ClientFrameV2 = SubscribeFrame | UnsubscribeFrame | PublishV2Frame | { type: 'ping' }

/** One member of a room's roster: an identity with its number of connections. */
export interface RosterMember {
  sub: string
  connections: number
  info?: unknown
}

/** The result of decoding one v2 text frame: a frame, or the error to answer with (with the `room` it concerns). */
export type DecodedV2 =
  | { ok: true; frame: ClientFrameV2; dataJson?: string }
  | { ok: false; code: 'bad_json' | 'bad_frame' | 'bad_room'; message: string; id?: string; room?: string }

const MAX_ID_LENGTH = 256
const EPOCH = /^[A-Za-z0-9_-]{1,64}$/
const hasOwn = Object.prototype.hasOwnProperty

/** Decode a v2 text frame. Never throws. For a publish, `dataJson` is `data` serialised once, ready for fan-out. */
export function decodeClientFrameV2(text: string): DecodedV2 {
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
  if (type !== 'subscribe' && type !== 'unsubscribe' && type !== 'publish') {
    const message = typeof type === 'string' ? `unknown frame type "${type.slice(0, 32)}"` : 'frame needs a string "type"'
    return withId({ ok: false, code: 'bad_frame', message }, id)
  }
  const room = hasOwn.call(obj, 'room') ? obj.room : undefined
  if (typeof room !== 'string') return withId({ ok: false, code: 'bad_frame', message: `${type} needs a string "room"` }, id)
  if (!isRoomName(room)) return withId({ ok: false, code: 'bad_room', message: Errors.bad_room.message, room: room.slice(0, 64) }, id)
  const bad = (message: string): DecodedV2 => withId({ ok: false, code: 'bad_frame', message, room }, id)
  if (type === 'unsubscribe') return { ok: true, frame: withId({ type, room }, id) }
  if (type === 'subscribe') {
    const frame: SubscribeFrame = withId({ type, room }, id)
    if (obj.since !== undefined) {
      if (typeof obj.since !== 'number' || !Number.isSafeInteger(obj.since) || obj.since < 0) return bad('"since" must be a non-negative integer')
      frame.since = obj.since
    }
    if (obj.epoch !== undefined) {
      if (typeof obj.epoch !== 'string' || !EPOCH.test(obj.epoch)) return bad('"epoch" must be 1 to 64 of A-Z a-z 0-9 _ -')
      frame.epoch = obj.epoch
    }
    if (obj.presence !== undefined) {
      if (typeof obj.presence !== 'boolean') return bad('"presence" must be true or false')
      if (obj.presence) frame.presence = true
    }
    return { ok: true, frame }
  }
  if (!hasOwn.call(obj, 'data') || obj.data === undefined) return bad('publish needs "data"')
  // The frame is one level around its data (decode.ts's rule for v1).
  if (nestedTooDeeply(text, MAX_JSON_DEPTH + 1)) return bad(`"data" is nested more than ${MAX_JSON_DEPTH} levels deep`)
  let dataJson: string
  try {
    // Re-serialising can overflow the stack on pathologically deep nesting.
    dataJson = JSON.stringify(obj.data)
  } catch {
    return bad('"data" is nested too deeply')
  }
  return { ok: true, frame: withId({ type, room, data: obj.data }, id), dataJson }
}

function withId<T extends object>(frame: T, id: string | undefined): T & { id?: string } {
  if (id !== undefined) (frame as { id?: string }).id = id
  return frame
}

// ---- server -> client ----

/** Encode the `welcome` frame a v2 connection gets on open. */
export function encodeWelcomeV2(connectionId: string, sub?: string): string {
  const frame: Record<string, unknown> = { type: 'welcome', connectionId, protocol: SUBPROTOCOL_V2 }
  if (sub !== undefined) frame.sub = sub
  return JSON.stringify(frame)
}

/** Encode `subscribed`: the room's position as the subscription starts, and how a resume went when it asked for one. */
export function encodeSubscribed(room: string, head: { seq: number; epoch: string }, id?: string, resumed?: { since: number; complete: boolean }): string {
  const frame: Record<string, unknown> = { type: 'subscribed', room, seq: head.seq, epoch: head.epoch }
  if (id !== undefined) frame.id = id
  if (resumed !== undefined) frame.resumed = { since: resumed.since, complete: resumed.complete }
  return JSON.stringify(frame)
}

/** Encode `unsubscribed`: no frame of `room` follows it. */
export function encodeUnsubscribed(room: string, id?: string): string {
  return id === undefined
    ? `{"type":"unsubscribed","room":${JSON.stringify(room)}}`
    : `{"type":"unsubscribed","room":${JSON.stringify(room)},"id":${JSON.stringify(id)}}`
}

/** Encode a v2 `ack`: v1's with the room (`duplicate` for a repeat of an id already published: its seq is the first one's). */
export function encodeAckV2(id: string, room: string, seq: number, duplicate = false): string {
  return `{"type":"ack","id":${JSON.stringify(id)},"room":${JSON.stringify(room)},"seq":${seq}${duplicate ? ',"duplicate":true' : ''}}`
}

/** Encode a v2 `error`, with the `room` it concerns. */
export function encodeErrorV2(code: ErrorCode, message: string = Errors[code].message, room?: string, id?: string): string {
  const frame: Record<string, unknown> = { type: 'error', code, message }
  if (room !== undefined) frame.room = room
  if (id !== undefined) frame.id = id
  return JSON.stringify(frame)
}

/** Encode the first `presence` frame of a subscription: the roster (or, `truncated`, only the count). */
export function encodePresenceState(room: string, connections: number, members: readonly RosterMember[], truncated: boolean): string {
  const frame: Record<string, unknown> = { type: 'presence', room, connections, members }
  if (truncated) frame.truncated = true
  return JSON.stringify(frame)
}

/** Encode a `presence` diff: who joined and who left since the last tick; `connections` is the room's total. */
export function encodePresenceDiff(room: string, connections: number, joins: readonly RosterMember[], leaves: readonly string[], truncated: boolean): string {
  const frame: Record<string, unknown> = { type: 'presence', room, connections, joins, leaves: leaves.map((sub) => ({ sub })) }
  if (truncated) frame.truncated = true
  return JSON.stringify(frame)
}
