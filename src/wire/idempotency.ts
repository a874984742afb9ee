/**
 * The `Idempotency-Key` header of an HTTP publish (IETF draft
 * draft-ietf-httpapi-idempotency-key-header): the HTTP twin of a json
 * publish's `id`, with the same limits.
 */
import { MAX_ID_LENGTH } from './decode.ts'

/** The header's name. */
export const IDEMPOTENCY_KEY = 'Idempotency-Key'

/**
 * The key a request's `Idempotency-Key` header carries, undefined without one,
 * or `{bad}` with why it is refused (400 `bad_request`). The draft makes the
 * value a structured-field string (`"..."`); a bare token is taken as well, and
 * both spell the same key.
 */
export function parseIdempotencyKey(header: string | undefined): string | undefined | { bad: string } {
  if (header === undefined) return undefined
  let key = header.trim()
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1)
  if (key.length === 0 || key.length > MAX_ID_LENGTH) return { bad: `${IDEMPOTENCY_KEY} must be 1 to ${MAX_ID_LENGTH} characters` }
  return key
}
