/** Decoding what a json-mode client sends: one text frame in, a frame or the error to answer with out. Never throws. */
import { Errors } from './errors.ts'
import type { ClientFrame, PublishFrame } from './frames.ts'

/** The result of decoding one json-mode text frame: a frame, or an error to send back. */
export type Decoded = { ok: true; frame: ClientFrame; dataJson?: string } | { ok: false; code: 'bad_json' | 'bad_frame'; message: string; id?: string }

/** The longest publish `id` (and HTTP `Idempotency-Key`), in characters. */
export const MAX_ID_LENGTH = 256
const hasOwn = Object.prototype.hasOwnProperty

/**
 * The deepest nesting of arrays and objects a published `data` may have. Past
 * it, re-serialising would overflow the stack on some runtimes and not on
 * others (Node's JSON.stringify gives up between 2,000 and 5,000 levels); one
 * bound makes the answer the same everywhere, and spares receivers as well.
 */
export const MAX_JSON_DEPTH = 1000
const TOO_DEEP = `"data" is nested more than ${MAX_JSON_DEPTH} levels deep`

/**
 * Whether JSON `text` nests arrays and objects more than `max` levels deep.
 * Free for texts shorter than `max`, which cannot be; else one pass over the
 * characters, skipping strings. Call it on text JSON.parse accepted.
 */
export function nestedTooDeeply(text: string, max: number = MAX_JSON_DEPTH): boolean {
  if (text.length <= max) return false
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      // A string: skip to its closing quote, past escapes.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i)
        if (d === 0x5c) i++
        else if (d === 0x22) break
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}

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
  // The frame is one level around its data.
  if (nestedTooDeeply(text, MAX_JSON_DEPTH + 1)) return { ok: false, code: 'bad_frame', message: TOO_DEEP, id }
  let dataJson: string
  try {
    // Re-serialising can overflow the stack on pathologically deep nesting.
    dataJson = JSON.stringify(obj.data)
  } catch {
    return { ok: false, code: 'bad_frame', message: TOO_DEEP, id }
  }
  const frame: PublishFrame = id === undefined ? { type: 'publish', data: obj.data } : { type: 'publish', data: obj.data, id }
  return { ok: true, frame, dataJson }
}
