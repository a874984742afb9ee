/**
 * A published message as a room keeps it in history and hands it to members,
 * and its text form in a storage backend. It is encoded for the wire
 * (wire/encode.ts) once per mode per broadcast, never once per recipient.
 */
import type { DataKind } from '../wire/frames.ts'
import { fromBase64, toBase64, utf8Length } from '../wire/bytes.ts'

/** How the entry's `body` carries its data: `text` (the string), `json` (its JSON text) or `binary` (the bytes). */
export type EntryKind = DataKind

/** A message before the room's log has given it a sequence number. */
export interface Draft {
  kind: EntryKind
  body: string | Uint8Array
  ts: number
  /** Authenticated publisher identity, shown to json members. */
  from?: string
  /** Connection id of the publisher, so it gets an `ack` instead of its own `message`. Never sent. */
  origin?: string
}

/** A message with its place in the room's sequence. */
export interface Entry extends Draft {
  seq: number
}

/** Size in bytes of an entry's body, for history budgets. */
export function entryBytes(entry: Draft): number {
  return typeof entry.body === 'string' ? utf8Length(entry.body) : entry.body.byteLength
}

/** Serialise an entry for a storage backend (Redis, Durable Object SQLite). */
export function serializeEntry(entry: Entry): string {
  const { body, ...rest } = entry
  return JSON.stringify(typeof body === 'string' ? { ...rest, body } : { ...rest, b64: toBase64(body) })
}

/** Inverse of `serializeEntry`. */
export function parseEntry(text: string): Entry {
  const o = JSON.parse(text) as Omit<Entry, 'body'> & { body?: string; b64?: string }
  const { b64, body, ...rest } = o
  return { ...rest, body: b64 !== undefined ? fromBase64(b64) : (body as string) }
}
