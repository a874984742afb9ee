/**
 * A published message as a room keeps it in history and hands it to members.
 * It is encoded once per wire mode per broadcast, never once per recipient.
 */

/**
 * - `text`: a raw text frame, or a json publish whose data is a string; `body` is the text.
 * - `json`: a json publish whose data is not a string; `body` is its JSON text.
 * - `binary`: a raw binary frame; `body` is the bytes.
 */
export type EntryKind = 'text' | 'json' | 'binary'

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

/** The `message` frame a json member receives for this entry. */
export function encodeJson(room: string, entry: Entry): string {
  let data: string
  let extra = ''
  if (entry.kind === 'text') data = JSON.stringify(entry.body as string)
  else if (entry.kind === 'json') data = entry.body as string
  else {
    data = '"' + toBase64(entry.body as Uint8Array) + '"'
    extra = ',"binary":true'
  }
  const from = entry.from === undefined ? '' : ',"from":' + JSON.stringify(entry.from)
  return (
    '{"type":"message","room":' + JSON.stringify(room) +
    ',"seq":' + entry.seq + ',"data":' + data + ',"ts":' + entry.ts + from + extra + '}'
  )
}

/** Size in bytes of an entry's body, for history budgets. */
export function entryBytes(entry: Draft): number {
  return typeof entry.body === 'string' ? utf8Length(entry.body) : entry.body.byteLength
}

/** UTF-8 byte length of a string without allocating. */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4
        i++
      } else n += 3
    } else n += 3
  }
  return n
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

/** Base64 of bytes with web-standard `btoa` only (no Buffer). */
export function toBase64(bytes: Uint8Array): string {
  let bin = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[])
  }
  return btoa(bin)
}

/** Bytes from base64 with web-standard `atob` only. */
export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}
