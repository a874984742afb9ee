/**
 * Whether connecting again can help, from the core's own tables: Errors for a close reason, Refusals for a
 * refused upgrade. Both files import nothing, so the browser bundle takes only the tables.
 */
import { Errors, closeReasonCode } from '../wire/errors.ts'
import type { ErrorCode, Retry } from '../wire/errors.ts'
import { Refusals } from '../wire/refusals.ts'
import type { RefusalCode } from '../wire/refusals.ts'

/** The code a close reason names (`"<code>: <message>"`) and its retry class; undefined when it names none of the table's. */
export function closeRetry(reason: string): { code: ErrorCode; retry: Retry } | undefined {
  const code = closeReasonCode(reason)
  return code === undefined ? undefined : { code, retry: Errors[code].retry }
}

/**
 * The retry class of an HTTP refusal with `code` (its X-Roomcast-Error) and `status`. A code this client
 * does not know (a newer server's) goes by the status: 4xx but 408 and 429 cannot be helped by retrying.
 */
export function refusalRetry(code: string, status: number): Retry {
  if (Object.hasOwn(Refusals, code)) return Refusals[code as RefusalCode].retry
  return status >= 400 && status < 500 && status !== 408 && status !== 429 ? 'terminal' : 'reconnect'
}
