/**
 * What a client asks for in its upgrade request: json mode by subprotocol
 * (or `?protocol=`), a resume point by `?since=` and `?epoch=`, and the
 * client key its publish ids are deduplicated under by `?client=`.
 */
import type { Mode } from './frames.ts'
import { SUBPROTOCOL, SUBPROTOCOL_V2 } from './names.ts'

/** The wire part of a join: the mode, and where to resume from. */
export interface JoinQuery {
  mode: Mode
  /** Resume after this seq (from `?since=`). */
  since?: number
  /** The epoch the client's `since` belongs to (from `?epoch=`). */
  epoch?: string
  /**
   * The client's own key (from `?client=`), kept across its reconnects: without
   * a token's `sub`, publish ids are deduplicated per client key rather than per connection.
   */
  client?: string
}

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/
const CLIENT_KEY = /^[A-Za-z0-9_-]{1,64}$/
const SEQ = /^\d{1,15}$/

/**
 * The subprotocol to echo for a `Sec-WebSocket-Protocol` request header: roomcast.v2 or roomcast.v1 when
 * offered (v2 first), else none. Never another offered entry: a client may offer a credential there, and an
 * echo would leak it into logs.
 */
export function chooseSubprotocol(offered: string | null | undefined): typeof SUBPROTOCOL | typeof SUBPROTOCOL_V2 | undefined {
  if (!offered) return undefined
  const entries = offered.split(',').map((p) => p.trim())
  if (entries.includes(SUBPROTOCOL_V2)) return SUBPROTOCOL_V2
  return entries.includes(SUBPROTOCOL) ? SUBPROTOCOL : undefined
}

/** Whether an upgrade asks for protocol v2: subprotocol `roomcast.v2`, or `?protocol=roomcast.v2`. */
export function wantsV2(subprotocols: string | null | undefined, protocolParam: string | undefined): boolean {
  return protocolParam === SUBPROTOCOL_V2 || (protocolParam === undefined && chooseSubprotocol(subprotocols) === SUBPROTOCOL_V2)
}

/**
 * Read a join from the `Sec-WebSocket-Protocol` header and the query parameters
 * `protocol`, `since`, `epoch` and `client`; a string is the reason the request is bad (400 `bad_request`).
 */
export function parseJoinQuery(subprotocols: string | null | undefined, query: (name: string) => string | undefined): JoinQuery | string {
  const offered = subprotocols?.split(',').some((p) => p.trim() === SUBPROTOCOL) ? SUBPROTOCOL : undefined
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
  const client = readClientKey(query)
  if (typeof client === 'object') return client.bad
  if (client !== undefined) join.client = client
  return join
}

/** The `?client=` key of an upgrade (v1 or v2), undefined without one, or `{bad}` with why it is refused (400 `bad_request`). */
export function readClientKey(query: (name: string) => string | undefined): string | undefined | { bad: string } {
  const client = query('client')
  if (client === undefined) return undefined
  return CLIENT_KEY.test(client) ? client : { bad: '"client" must be 1 to 64 of A-Z a-z 0-9 _ -' }
}
