/**
 * What the app's answers tell the operator: every upgrade counted by result,
 * every refusal (they all carry `X-Roomcast-Error`, whichever path built
 * them) counted by code and logged. One middleware around every route, so no
 * refusal site needs a line of its own.
 */
import type { Context, MiddlewareHandler } from 'hono'
import type { Ops } from '../ops/ops.ts'

/** The room an HTTP path names (`/rooms/:room...`; `/` is the default room), without trusting it to be valid. */
function roomOf(path: string, defaultRoom: string): string | undefined {
  if (path === '/') return defaultRoom
  const m = /^\/rooms\/([^/]*)/.exec(path)
  if (m === null) return undefined
  try {
    return decodeURIComponent(m[1] as string)
  } catch {
    return m[1]
  }
}

/** The refusal message of a refusal response body (`{error, message}`), read from a copy. */
async function reasonOf(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.clone().json()) as { message?: unknown }
    return typeof body.message === 'string' ? body.message : undefined
  } catch {
    return undefined
  }
}

/** Count and log what each request was answered. `clientIp` is the app's reading of the client address. */
export function observe(ops: Ops, defaultRoom: string, clientIp: (c: Context) => string | undefined): MiddlewareHandler {
  return async (c, next) => {
    // Read before the route runs: once Deno has upgraded a request, its headers can no longer be read.
    const upgrade = c.req.header('upgrade')?.toLowerCase() === 'websocket'
    const { method, path } = c.req
    const ip = clientIp(c)
    await next()
    const res = c.res
    const code = res.headers.get('x-roomcast-error')
    if (!upgrade && code === null) return
    await ops.answered({ upgrade, status: res.status, method, path, room: roomOf(path, defaultRoom), ip }, code, () => reasonOf(res))
  }
}
