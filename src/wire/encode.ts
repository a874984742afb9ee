/**
 * Every frame the server sends a json-mode member, encoded. A broadcast's
 * `message` is encoded once per broadcast and the same string goes to every
 * member, so these build strings directly where that is cheaper than
 * JSON.stringify of an object.
 */
import { toBase64 } from './bytes.ts'
import type { ErrorCode } from './errors.ts'
import { Errors } from './errors.ts'
import type { DataKind, ErrorFrame, WelcomeFrame } from './frames.ts'

/** Encode an `error` frame. */
export function encodeError(code: ErrorCode, message: string = Errors[code].message, id?: string): string {
  const frame: ErrorFrame = id === undefined ? { type: 'error', code, message } : { type: 'error', code, message, id }
  return JSON.stringify(frame)
}

/** Encode an `ack` frame; `duplicate` for a repeat of an id already published (its seq is the original's). */
export function encodeAck(id: string, seq: number, duplicate = false): string {
  return `{"type":"ack","id":${JSON.stringify(id)},"seq":${seq}${duplicate ? ',"duplicate":true' : ''}}`
}

/** Encode a `presence` frame. */
export function encodePresence(room: string, connections: number): string {
  return `{"type":"presence","room":${JSON.stringify(room)},"connections":${connections}}`
}

/** Encode the `pong` frame (a constant). */
export const PONG = '{"type":"pong"}'

/** What a `message` frame is made from: a published entry with its seq (log/entry.ts's Entry is one). */
export interface MessageSource {
  kind: DataKind
  /** The text (`text`), the JSON text of the data (`json`) or the bytes (`binary`). */
  body: string | Uint8Array
  seq: number
  ts: number
  from?: string
}

/** Encode the `message` frame a json member receives for an entry of `room`. */
export function encodeMessage(room: string, entry: MessageSource): string {
  let data: string
  let extra = ''
  if (entry.kind === 'text') data = JSON.stringify(entry.body as string)
  else if (entry.kind === 'json') data = entry.body as string
  else {
    data = '"' + toBase64(entry.body as Uint8Array) + '"'
    extra = ',"binary":true'
  }
  const from = entry.from === undefined ? '' : ',"from":' + JSON.stringify(entry.from)
  return '{"type":"message","room":' + JSON.stringify(room) + ',"seq":' + entry.seq + ',"data":' + data + ',"ts":' + entry.ts + from + extra + '}'
}

/** Encode the `welcome` frame: the room's position as this member joins, and how a resume went when it asked for one. */
export function encodeWelcome(
  room: string,
  connectionId: string,
  head: { seq: number; epoch: string },
  resumed?: { since: number; complete: boolean },
): string {
  const frame: WelcomeFrame = { type: 'welcome', room, connectionId, seq: head.seq, epoch: head.epoch }
  if (resumed !== undefined) frame.resumed = { since: resumed.since, complete: resumed.complete }
  return JSON.stringify(frame)
}
