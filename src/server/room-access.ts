/**
 * The application's `authorize` hook, asked per room for a protocol v2 connection (session.ts): a v2 socket
 * is for no room at its upgrade, so the hook decides there whether it may open at all, and again at each
 * `subscribe` and each first `publish` to a room, with that room. The verdicts are kept per room for the
 * connection's life (bounded), so publishing costs no hook call per message.
 */
import type { Decision } from '../hooks/authorize.ts'
import type { Identity } from '../hooks/hooks.ts'
import { Errors } from '../wire/errors.ts'

/** What a v2 session asks of the application about one room. Absent where there is no `authorize` hook: nothing is asked. */
export interface RoomAccess {
  /** The identity the upgrade's verdict gave, laid over the token's: every room's identity starts from it. */
  readonly base: Identity
  /** Ask `authorize` about `room`: `join` for a subscribe, `publish` for a publish to a room with no verdict yet. */
  ask(room: string, action: 'join' | 'publish'): Promise<Decision>
}

/** A code the application may put in a v2 `error` frame: snake case, and not one of ours that means a close. */
const APP_CODE = /^[a-z][a-z0-9_]{0,63}$/

/**
 * The `error` frame code of a refusal: `hook_failed` / `hook_timeout` as they are, the application's own code
 * where it is a valid one (an Errors code that closes a connection is not: the connection stays), else `forbidden`.
 */
export function refusalCode(denied: { code: string; hook: boolean }): string {
  if (denied.hook) return denied.code
  if (!APP_CODE.test(denied.code)) return 'forbidden'
  const known = (Errors as Record<string, { close: number | null }>)[denied.code]
  return known !== undefined && known.close !== null ? 'forbidden' : denied.code
}

/** The identity a room's verdict gives: the room's own answer over the connection's. */
export function roomIdentity(base: Identity, room: Identity): Identity {
  const out: Identity = {}
  const sub = room.sub ?? base.sub
  const canPublish = room.canPublish ?? base.canPublish
  const info = room.info ?? base.info
  if (sub !== undefined) out.sub = sub
  if (canPublish !== undefined) out.canPublish = canPublish
  if (info !== undefined) out.info = info
  return out
}
