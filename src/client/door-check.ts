/**
 * Why an upgrade was refused. A WebSocket that the server turned away only reports a close with 1006 (the
 * HTTP status and X-Roomcast-Error of the refusal are not exposed), so the client asks again with a plain
 * GET of the same URL plus `?check`, which runs the same door checks and answers 204 or the refusal.
 */
import { Refusals } from '../wire/refusals.ts'
import type { RefusalCode } from '../wire/refusals.ts'
import { refusalRetry } from './retry.ts'
import { RoomcastError } from './error.ts'
import type { ClientErrorCode } from './error.ts'

/**
 * Ask `wsUrl`'s door (with `token` as a Bearer credential) why it refused. Resolves with the refusal as an
 * error, or undefined when the door would let the client in now or the question itself failed (no server,
 * a network error, another origin without CORS, a server too old to know `?check`): then it was no refusal
 * the client can name, and trying again is right.
 */
export async function askWhy(wsUrl: string, token: string | undefined, timeoutMs: number, fetchFn: typeof fetch): Promise<RoomcastError | undefined> {
  const u = new URL(wsUrl)
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:'
  u.searchParams.set('check', '')
  let res: Response
  try {
    res = await fetchFn(u.href, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      signal: typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(timeoutMs) : undefined,
    })
  } catch {
    return undefined
  }
  const code = res.headers.get('x-roomcast-error')
  if (res.ok || code === null) return undefined
  // The table's message where the body gives none (a runtime that drops a refusal's body, say).
  let message: string = Object.hasOwn(Refusals, code) ? Refusals[code as RefusalCode].message : `refused with ${res.status}`
  try {
    const body = (await res.json()) as { message?: unknown }
    if (typeof body.message === 'string') message = body.message
  } catch {
    // No JSON body: the status and code say enough.
  }
  const after = Number(res.headers.get('retry-after'))
  // The server's code as it sent it (a newer server may have codes this client does not list).
  return new RoomcastError(code as ClientErrorCode, message, {
    status: res.status,
    retry: refusalRetry(code, res.status),
    retryAfterMs: after > 0 ? after * 1000 : undefined,
  })
}
