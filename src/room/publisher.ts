/**
 * Whose a publish id is: the identity its dedupe key is made under. One
 * publisher can never suppress another's publish by reusing its id, because
 * the key is identity and id together (log/room-log.ts's `dedupeKey`).
 */
import type { MemberInfo } from './connection.ts'

/**
 * A member's identity for its publish ids: its token's `sub`, else the client
 * key it gave as `?client=` (the same across its reconnects), else its connection.
 */
export function memberIdentity(info: MemberInfo): string {
  return publisherIdentity(info.from, info.client, info.id)
}

/** The same for any connection (a v2 session too): its `sub`, else its client key, else its connection id. */
export function publisherIdentity(sub: string | undefined, client: string | undefined, connectionId: string): string {
  if (sub !== undefined) return `s:${sub}`
  if (client !== undefined) return `c:${client}`
  return `n:${connectionId}`
}

/**
 * An HTTP publisher's identity for its Idempotency-Key: its bearer token's
 * `sub`, else one bucket for every caller with a valid credential (the
 * publish key, or a token without `sub`), else one for anonymous callers.
 * Apart from the members' (memberIdentity), so a header and a frame never share a key.
 */
export function httpIdentity(sub: string | undefined, credentialed: boolean): string {
  if (sub !== undefined) return `hs:${sub}`
  return credentialed ? 'hk' : 'ha'
}
