/** The gateway for runtimes where one process holds its rooms in a Hub (Node, Deno, Bun). */
import type { Context } from 'hono'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import { realClock } from '../config/clock.ts'
import type { EntryKind } from '../log/entry.ts'
import type { Once } from '../log/room-log.ts'
import type { Connection, JoinRequest } from '../room/connection.ts'
import type { Member } from '../room/member.ts'
import type { Room } from '../room/room.ts'
import { chooseSubprotocol } from '../wire/join.ts'
import type { RoomGateway } from './gateway.ts'
import type { Hub } from './hub.ts'
import { hubAdmin } from './hub-admin.ts'
import type { SessionOptions } from './session.ts'
import { SessionEvents } from './session-events.ts'

/**
 * Turn Hono's WSContext into a core Connection. The adapter supplies it;
 * `alive` is to be called when the runtime sees a pong.
 */
export type WrapSocket = (ws: WSContext, alive: () => void) => Connection

/** A RoomGateway over a Hub, upgrading with the runtime's Hono `upgradeWebSocket`. */
export function hubGateway<T, U>(hub: Hub, upgradeWebSocket: UpgradeWebSocket<T, U>, wrap: WrapSocket, upgradeOptions?: U): RoomGateway {
  /**
   * Upgrade with these socket events, naming our subprotocol, or none. Read before the upgrade: Deno closes the
   * request once it has upgraded it. Where the runtime answers the handshake with this Response (Deno), the
   * runtime's helper would echo the first subprotocol offered, which may be a token.
   */
  const accept = async (c: Context, events: Parameters<typeof upgradeWebSocket>[1]): Promise<Response> => {
    const protocol = chooseSubprotocol(c.req.header('sec-websocket-protocol'))
    const res: Response = await upgradeWebSocket(c, events, upgradeOptions)
    if (res.status === 101 && protocol !== undefined) res.headers.set('Sec-WebSocket-Protocol', protocol)
    return res
  }
  return {
    admin: (health) => hubAdmin(hub, { health, directory: hub.directory, counts: hub.counts }),
    connections: () => hub.connections,
    isFull(name) {
      return hub.peek(name)?.full ?? false
    },
    roomLimitReached: (name) => !hub.canOpen(name),
    async upgrade(c: Context, name: string, join: JoinRequest) {
      const room = hub.room(name)
      // Answer the upgrade only once the room can give this member everything published after it opens.
      await room.ready()
      return accept(c, new MemberEvents(room, join, wrap))
    },
    // Protocol v2: one socket, many rooms (session.ts).
    connect: (c: Context, grant, client, extras) => accept(c, new SessionEvents(hub, grant, wrap, realClock, client, extras)),
    // Protocol v2 on a room's URL: the same session, serving that room only.
    connectRoom(c: Context, name, { grant, client, info, ip }) {
      const options: SessionOptions = { scope: name }
      if (info !== undefined) options.info = info
      if (ip !== undefined) options.ip = ip
      return accept(c, new SessionEvents(hub, grant, wrap, realClock, client, options))
    },
    presence: (name, limit, cursor) => hub.presence(name, limit, cursor),
    stats: (name) => hub.stats(name),
    publish: async (name: string, kind: EntryKind, body: string, from?: string, once?: Once) => {
      const room = hub.room(name)
      if (once !== undefined) return room.publishOnce(kind, body, once, from)
      return { seq: await room.publish(kind, body, from), duplicate: false, mismatch: false }
    },
  }
}

/**
 * One upgrade's socket handlers, as methods rather than closures: under tsx
 * (keepNames) every named closure also gets its own property dictionary,
 * about 300 bytes per handler per connection. Hono's Node, Deno and Bun
 * helpers call onOpen, onMessage and onClose as methods; Bun's calls onError
 * unbound, so that one is bound.
 */
class MemberEvents {
  private member: Member | null = null
  readonly onError: (evt?: unknown) => void

  constructor(
    private readonly room: Room,
    private join: JoinRequest | null,
    private readonly wrap: WrapSocket,
  ) {
    this.onError = this.onClose.bind(this)
  }

  onOpen(_evt: Event, ws: WSContext): void {
    const join = this.join as JoinRequest
    this.join = null
    this.member = this.room.join(this.wrap(ws, this.alive.bind(this)), join)
  }

  onMessage(evt: MessageEvent): void {
    if (this.member !== null) this.room.receive(this.member, evt.data)
  }

  onClose(evt?: unknown): void {
    const m = this.member
    if (m !== null) this.room.leave(m, m.conn.closedBy?.(evt))
  }

  private alive(): void {
    if (this.member !== null) this.room.touch(this.member)
  }
}
