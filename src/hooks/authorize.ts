/**
 * The `authorize` hook's answer checked and turned into an identity or a
 * refusal: within its time limit, with a `sub` of 1 to 256 characters and an
 * `info` object of at most MAX_INFO_BYTES serialised (it rides in a Durable
 * Object socket's 2 KiB attachment beside the rest of the member's info).
 */
import { MAX_SUB_LENGTH } from '../access/credentials.ts'
import { utf8Length } from '../wire/bytes.ts'
import { Refusals, refusalResponse } from '../wire/refusals.ts'
import type { AuthorizeRequest, AuthorizeResult, ConnectRequest, Hooks, Identity, MemberData } from './hooks.ts'
import { isDenial } from './hooks.ts'
import { runHook } from './limit.ts'

/** Largest `info` an identity may carry, in bytes of its JSON. */
export const MAX_INFO_BYTES = 1024

/** What `authorize` decided: an identity (possibly empty), or the response that refuses. */
export type Authorized = { identity: Identity } | { refused: Response }

/**
 * What `authorize` decided, before it is an HTTP answer: an identity, or a refusal with its status, code and
 * message (`hook: true` when the hook failed or timed out rather than refused: worth trying again, not worth keeping).
 */
export type Decision = { identity: Identity } | { denied: { status: number; code: string; message: string; hook: boolean } }

/**
 * Run the application's `authorize` hook: a Denial refuses with its status and code; a hook that throws or
 * answers a bad identity refuses with 500 `hook_failed`, one that takes over `timeoutMs` with 504 `hook_timeout`.
 */
export async function authorizeWith(
  hook: NonNullable<Hooks['authorize']>,
  req: AuthorizeRequest | ConnectRequest,
  timeoutMs: number,
  onError: (err: unknown) => void,
): Promise<Authorized> {
  const d = await decideWith(hook, req, timeoutMs, onError)
  if ('identity' in d) return d
  const { status, code, message } = d.denied
  return { refused: d.denied.hook ? refusalResponse(code as 'hook_failed' | 'hook_timeout', message) : refusalResponse({ status, error: code, message }) }
}

/** As `authorizeWith`, the verdict as a value (a v2 connection turns a refusal into an `error` frame, not a response). */
export async function decideWith(
  hook: NonNullable<Hooks['authorize']>,
  req: AuthorizeRequest | ConnectRequest,
  timeoutMs: number,
  onError: (err: unknown) => void,
): Promise<Decision> {
  const out = await runHook('authorize', hook, req, timeoutMs)
  if (!out.ok) {
    onError(out.error)
    return hookFailure(out.code, Refusals[out.code].message)
  }
  const r: AuthorizeResult = out.value
  if (isDenial(r)) {
    const status = typeof r.status === 'number' && r.status >= 400 && r.status <= 599 ? r.status : 403
    return { denied: { status, code: r.deny, message: typeof r.message === 'string' ? r.message : 'refused by the application', hook: false } }
  }
  if (r !== undefined && (typeof r !== 'object' || r === null)) return bad(onError, 'an answer that is neither an identity, a denial nor nothing')
  const identity: Identity = r ?? {}
  const { sub, canPublish, info } = identity
  if (sub !== undefined && (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH)) {
    return bad(onError, `a "sub" that is not a string of 1 to ${MAX_SUB_LENGTH} characters`)
  }
  if (canPublish !== undefined && typeof canPublish !== 'boolean') return bad(onError, 'a "canPublish" that is not a boolean')
  if (info === undefined) return { identity }
  const copy = boundedInfo(info)
  if (typeof copy === 'string') return bad(onError, copy)
  return { identity: { ...identity, info: copy } }
}

function hookFailure(code: 'hook_failed' | 'hook_timeout', message: string): Decision {
  return { denied: { status: Refusals[code].status, code, message, hook: true } }
}

/**
 * `info` as the member keeps it: a copy through JSON (so the application's later changes cannot grow it), or
 * why it cannot ride with a member: not a plain JSON object, or over MAX_INFO_BYTES serialised.
 */
export function boundedInfo(info: unknown): MemberData | string {
  if (typeof info !== 'object' || info === null || Array.isArray(info)) return 'an "info" that is not a JSON object'
  let json: string
  try {
    json = JSON.stringify(info)
  } catch {
    return 'an "info" that is not JSON'
  }
  const size = utf8Length(json)
  return size > MAX_INFO_BYTES ? `an "info" of ${size} bytes serialised, over ${MAX_INFO_BYTES}` : (JSON.parse(json) as MemberData)
}

function bad(onError: (err: unknown) => void, what: string): Decision {
  onError(new Error(`roomcast: the application's authorize hook returned ${what}`))
  return hookFailure('hook_failed', "the application's authorize hook returned a bad identity")
}
