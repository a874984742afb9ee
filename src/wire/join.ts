/**
 * What a client asks for in its upgrade request: json mode by subprotocol
 * (or `?protocol=`), and a resume point by `?since=` and `?epoch=`.
 */
import type { Mode } from './frames.ts'
import { SUBPROTOCOL } from './names.ts'

/** The wire part of a join: the mode, and where to resume from. */
export interface JoinQuery {
  mode: Mode
  /** Resume after this seq (from `?since=`). */
  since?: number
  /** The epoch the client's `since` belongs to (from `?epoch=`). */
  epoch?: string
}

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/
const SEQ = /^\d{1,15}$/

/**
 * The subprotocol to echo for a `Sec-WebSocket-Protocol` request header: roomcast.v1 when offered, else none.
 * Never another offered entry: a client may offer a credential there, and an echo would leak it into logs.
 */
export function chooseSubprotocol(offered: string | null | undefined): typeof SUBPROTOCOL | undefined {
  if (!offered) return undefined
  return offered.split(',').some((p) => p.trim() === SUBPROTOCOL) ? SUBPROTOCOL : undefined
}

/**
 * Read a join from the `Sec-WebSocket-Protocol` header and the query parameters
 * `protocol`, `since` and `epoch`; a string is the reason the request is bad (400 `bad_request`).
 */
export function parseJoinQuery(subprotocols: string | null | undefined, query: (name: string) => string | undefined): JoinQuery | string {
  const offered = chooseSubprotocol(subprotocols)
  const asked = query('protocol')
  if (asked !== undefined && asked !== SUBPROTOCOL) return `unknown protocol "${asked.slice(0, 32)}"; use ${SUBPROTOCOL}`
  const join: JoinQuery = { mode: offered !== undefined || asked === SUBPROTOCOL ? 'json' : 'raw' }
  const since = query('since')
  if (since !== undefined) {
    if (!SEQ.test(since)) return '"since" must be a non-negative integer'
    join.since = Number(since)
  }
  const epoch = query('epoch')
  if (epoch !== undefined) {
    if (!EPOCH.test(epoch)) return '"epoch" must be 1 to 64 of A-Z a-z 0-9 _ -'
    join.epoch = epoch
  }
  return join
}
