/** The one seam between a runtime's socket and the core. Adapters fill it in. */
import type { JoinQuery } from '../wire/join.ts'
import type { Mode } from '../wire/frames.ts'

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
}

/** What a client asked for when it joined (wire/join.ts), and what its credentials grant. */
export interface JoinRequest extends JoinQuery {
  /** The token's `sub`, shown as `from`. */
  from?: string
  /** False when the token does not grant publishing. */
  canPublish?: boolean
  /** Unix ms at which the token expires. */
  exp?: number
}

let counter = 0
let prefix: string | undefined

/** A connection id unique across processes: a random per-process prefix and a counter. */
export function newConnectionId(): string {
  // Drawn on first use: Workers refuse random values at module load.
  prefix ??= crypto.randomUUID().slice(0, 8)
  return `${prefix}-${(++counter).toString(36)}`
}
