/**
 * `RoomcastClient`, the client the issues name: of one room over protocol v1 (room-client.ts, unchanged), or,
 * with `multiRoom: true`, one connection with many subscriptions (`client.subscribe(room, {since?,
 * presence?})`) over a RoomcastConnection (connection.ts) that shares the client's options and opens no v1
 * socket of the client's own.
 */
import type { ConnectionOptions, SubscribeOptions, Subscription } from './connection.ts'
import { RoomcastConnection } from './connection.ts'
import { RoomcastError } from './error.ts'
import type { ClientOptions } from './room-client.ts'
import { RoomClient } from './room-client.ts'

export type { ClientErrorCode, ClientEvents, ClientOptions, ConnectionState, ErrorDetails, Missed, StateChange } from './room-client.ts'
export { RoomcastError, randomKey } from './room-client.ts'

/** A client of one room, or (`multiRoom: true`) of many over one connection. It connects on construction and keeps reconnecting until `close()`. */
export class RoomcastClient extends RoomClient {
  /** A multi-room client's one connection; undefined for a client of one room. */
  private readonly multi: RoomcastConnection | undefined

  constructor(options: ClientOptions) {
    const multiRoom = options.multiRoom === true
    if (multiRoom && (options.room !== undefined || options.since !== undefined))
      throw new TypeError('a multiRoom client has no room of its own: give each subscribe(room, { since }) its room')
    super(options, !multiRoom)
    this.multi = multiRoom ? new RoomcastConnection(connectionOptions(options, this.clientKey)) : undefined
    // Its state is the client's: `connecting`, `open`, `reconnecting`, `closed`.
    this.multi?.on('state', (state) => {
      if (this.state !== state) this.setState({ state })
    })
  }

  /** A multi-room client's connection (`multiRoom: true`): its transport and its subscriptions; undefined for a client of one room. */
  get connection(): RoomcastConnection | undefined {
    return this.multi
  }

  /**
   * Subscribe to `room` over the client's one connection (`multiRoom: true` only): the subscription has its
   * own `message`, `presence`, `missed`, `subscribed` and `error` events, `publish` and `unsubscribe`, and
   * resumes from its own seq and epoch after every reconnect. Throws on a client of one room.
   */
  subscribe(room: string, options: SubscribeOptions = {}): Subscription {
    if (this.multi === undefined) throw new TypeError('subscribe() is for a multi-room client: new RoomcastClient({ url, multiRoom: true })')
    return this.multi.subscribe(room, options)
  }

  /** Publish to the room (see RoomClient's); a multi-room client has none and rejects with `bad_data`: publish through a subscription. */
  override publish(data: unknown): Promise<number> {
    if (this.multi === undefined || this.state === 'closed') return super.publish(data)
    return Promise.reject(new RoomcastError('bad_data', 'a multi-room client publishes to a room: subscribe(room).publish(data)'))
  }

  /** Stop for good (see RoomClient's); a multi-room client closes its connection and every subscription. */
  override close(): Promise<void> {
    if (this.multi === undefined) return super.close()
    if (this.state !== 'closed') this.setState({ state: 'closed', code: 1000, reason: 'closed by the client' })
    return this.multi.close()
  }
}

/** The options of a multi-room client's connection: what it shares with the client. */
function connectionOptions(o: ClientOptions, clientKey: string): ConnectionOptions {
  const c: ConnectionOptions = { url: o.url, clientKey }
  if (o.token !== undefined) c.token = o.token
  if (o.transport !== undefined) c.transport = o.transport
  if (o.ackTimeoutMs !== undefined) c.ackTimeoutMs = o.ackTimeoutMs
  if (o.dedupeWindowMs !== undefined) c.dedupeWindowMs = o.dedupeWindowMs
  if (o.maxQueue !== undefined) c.maxQueue = o.maxQueue
  if (o.initialDelayMs !== undefined) c.initialDelayMs = o.initialDelayMs
  if (o.maxDelayMs !== undefined) c.maxDelayMs = o.maxDelayMs
  if (o.pingIntervalMs !== undefined) c.pingIntervalMs = o.pingIntervalMs
  if (o.WebSocket !== undefined) c.WebSocket = o.WebSocket
  if (o.fetch !== undefined) c.fetch = o.fetch
  return c
}
