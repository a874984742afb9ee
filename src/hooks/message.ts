/**
 * The `message` hook's answer turned into what the room does: publish (the
 * data as sent, or the hook's replacement) or refuse (the application's code,
 * `hook_failed`, `hook_timeout`). The room keeps a member's publishes in order
 * around it (room.ts `vet`); this file only decides one publish.
 */
import type { EntryKind } from '../log/entry.ts'
import { utf8Length } from '../wire/bytes.ts'
import { Errors } from '../wire/errors.ts'
import type { Hooks, MessageRequest, MessageResult } from './hooks.ts'
import { REJECTED_MESSAGE, isRejection, isReplacement } from './hooks.ts'
import type { Outcome } from './limit.ts'
import { runHook } from './limit.ts'

/** Publish this (the data as sent, or the replacement). */
export interface Accepted {
  ok: true
  kind: EntryKind
  body: string | Uint8Array
}

/** Refuse with `code`: the application's own (`error` absent) or `hook_failed` / `hook_timeout` (`error`: for onError). */
export interface Refused {
  ok: false
  code: string
  message: string
  /** For an HTTP publisher: the hook's 4xx (default 422), 500 `hook_failed`, 504 `hook_timeout`. */
  status: number
  error?: unknown
}

/** What the room does with one publish. */
export type Verdict = Accepted | Refused

/** Ask the hook about one publish of `kind`/`body`; answers synchronously when the hook does. */
export function vetMessage(
  hook: NonNullable<Hooks['message']>,
  req: MessageRequest,
  body: string | Uint8Array,
  timeoutMs: number,
  maxBytes: number,
): Verdict | Promise<Verdict> {
  const out = runHook('message', hook, req, timeoutMs)
  return out instanceof Promise ? out.then((o) => decide(o, req.kind, body, maxBytes)) : decide(out, req.kind, body, maxBytes)
}

function decide(out: Outcome<MessageResult>, kind: EntryKind, body: string | Uint8Array, maxBytes: number): Verdict {
  if (!out.ok) return failed(out.code, out.error)
  const v = out.value
  if (isRejection(v)) {
    const status = typeof v.status === 'number' && v.status >= 400 && v.status <= 499 ? v.status : 422
    return { ok: false, code: v.reject, message: typeof v.message === 'string' ? v.message : REJECTED_MESSAGE, status }
  }
  if (isReplacement(v)) return replacement(v.data, maxBytes)
  return { ok: true, kind, body }
}

function replacement(data: unknown, maxBytes: number): Verdict {
  const e = entryOf(data, maxBytes)
  return typeof e === 'string' ? failed('hook_failed', new Error(`roomcast: the message hook's data ${e}`)) : { ok: true, ...e }
}

/** Data as an entry's kind and body (a string is text, bytes are binary, anything else its JSON), or why it cannot be one. */
export function entryOf(data: unknown, maxBytes: number): { kind: EntryKind; body: string | Uint8Array } | string {
  let kind: EntryKind
  let body: string | Uint8Array
  if (typeof data === 'string') {
    kind = 'text'
    body = data
  } else if (data instanceof Uint8Array) {
    kind = 'binary'
    body = data
  } else if (data instanceof ArrayBuffer) {
    kind = 'binary'
    body = new Uint8Array(data)
  } else {
    let json: string | undefined
    try {
      json = JSON.stringify(data)
    } catch (err) {
      return `is not JSON: ${String(err)}`
    }
    if (json === undefined) return 'has no JSON form'
    kind = 'json'
    body = json
  }
  const size = typeof body === 'string' ? utf8Length(body) : body.byteLength
  return size > maxBytes ? `is ${size} bytes, over MAX_FRAME_BYTES (${maxBytes})` : { kind, body }
}

function failed(code: 'hook_failed' | 'hook_timeout', error: unknown): Refused {
  return { ok: false, code, message: Errors[code].message, status: code === 'hook_timeout' ? 504 : 500, error }
}
