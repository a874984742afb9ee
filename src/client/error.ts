/** The client's error type: a stable code, a readable message and, for the server's refusals, whether to try again. */
import type { ErrorCode, Retry } from '../wire/errors.ts'
import type { RefusalCode } from '../wire/refusals.ts'

/**
 * Codes a RoomcastError can have: the server's (an `error` frame's or a close reason's, or the
 * X-Roomcast-Error of a refused upgrade), or one of the client's own.
 */
export type ClientErrorCode = ErrorCode | RefusalCode | 'timeout' | 'queue_full' | 'closed' | 'connection_lost' | 'bad_data' | 'token_failed'

/** What the server's refusals and closes add to an error. */
export interface ErrorDetails {
  /** The HTTP status of a refused upgrade. */
  status?: number
  /** Whether connecting again can help (`reconnect`) or not (`terminal`: the client stops). */
  retry?: Retry
  /** How long the server asked the client to wait (its Retry-After). */
  retryAfterMs?: number
}

/** An error with a stable code (see the README's client section). */
export class RoomcastError extends Error {
  override name = 'RoomcastError'
  readonly status?: number
  readonly retry?: Retry
  readonly retryAfterMs?: number
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    details: ErrorDetails = {},
  ) {
    super(message)
    if (details.status !== undefined) this.status = details.status
    if (details.retry !== undefined) this.retry = details.retry
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs
  }
}
