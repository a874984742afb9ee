/** The one seam between a runtime's socket and the core. Adapters fill it in. */

import type { MemberData } from '../hooks/hooks.ts'
import type { ErrorCode } from '../wire/errors.ts'
import type { Mode } from '../wire/frames.ts'
import type { JoinQuery } from '../wire/join.ts'

/** A runtime's WebSocket as the core sees it. */
export interface Connection {
  /** Send a text (string) or binary (bytes) frame. May throw if the socket is gone. */
  send(data: string | Uint8Array): void
  /** Close with an RFC 6455 code and a readable reason. */
  close(code: number, reason: string): void
  /** Bytes queued but not yet written; absent where the runtime cannot tell (Cloudflare). */
  bufferedAmount?(): number
  /** Send a protocol-level ping; absent where the runtime pings by itself (Deno, Bun, Cloudflare). */
  ping?(): void
  /** Drop the TCP connection now, without waiting for the peer's close frame; absent where the runtime does not wait (Deno, Bun) or cannot. */
  terminate?(): void
  /**
   * Read the runtime's close or error event for this socket: the code of the Errors table the runtime
   * itself closed it with, if it did (a frame over the size limit, refused by the transport before the
   * core saw it: Node's ws, Bun's uWebSockets), so the close is counted and logged as the server's.
   */
  closedBy?(event: unknown): ErrorCode | undefined
  /**
   * When the runtime last answered a keep-alive for this socket without the core seeing it (Unix ms):
   * Cloudflare's auto-response (getWebSocketAutoResponseTimestamp). Absent elsewhere.
   */
  heardAt?(): number | undefined
}

/**
 * What the core keeps about a connection that must survive a Durable Object's
 * hibernation: small, plain and serialisable (it goes into a 2 KiB attachment).
 */
export interface MemberInfo {
  id: string
  mode: Mode
  /** Authenticated identity, shown as `from` on this member's messages. */
  from?: string
  /** False for read-only members. */
  canPublish: boolean
  /** Unix ms after which the member's credentials expire, if they do. */
  exp?: number
  /** Unix ms at which it joined (shown as `since` by the admin API); absent in attachments written before it existed. */
  joinedAt?: number
  /** What the application's `authorize` hook attached (at most 1 KiB of JSON). */
  info?: MemberData
  /** A subscription of a protocol v2 connection (server/session.ts): `subscribed` instead of `welcome`, identity presence. */
  v2?: true
  /** The client's address, for the log lines about this member (at most 64 characters). */
  ip?: string
  /** The client key from `?client=`: without `from`, publish ids are deduplicated under it. */
  client?: string
}

/** What a client asked for when it joined (wire/join.ts), and what its credentials grant. */
export interface JoinRequest extends JoinQuery {
  /** The token's `sub`, shown as `from`. */
  from?: string
  /** False when the token does not grant publishing. */
  canPublish?: boolean
  /** Unix ms at which the token expires. */
  exp?: number
  /** The `info` the application's `authorize` hook gave. */
  info?: MemberData
  /**
   * Set for a protocol v2 subscription: the subscribe's `id`, whether it asked for presence, and what the
   * room calls instead of closing the shared connection when it drops this member (or refuses it, full).
   */
  v2?: { id?: string; presence?: boolean; ended?: (code: ErrorCode) => void }
  /** The client's address as the runtime reports it. */
  ip?: string
}

let counter = 0
let prefix: string | undefined

/** A connection id unique across processes: a random per-process prefix and a counter. */
export function newConnectionId(): string {
  // Drawn on first use: Workers refuse random values at module load.
  prefix ??= crypto.randomUUID().slice(0, 8)
  return `${prefix}-${(++counter).toString(36)}`
}
