/**
 * Cloudflare: one Durable Object per room, on the WebSocket hibernation API.
 * Members are the object's hibernatable sockets, each one's MemberInfo rides in
 * its attachment, and seq/epoch/history are in the object's SQLite, so the
 * Room rebuilt after hibernation or eviction is the room that was.
 */
import { DurableObject } from 'cloudflare:workers'
import type { Config, Connection, EntryKind, Hooks, JoinRequest, Member, MemberInfo, RoomStats } from '../../src/index.ts'
import { Errors, PONG, Rejected, Room, chooseSubprotocol, closeReason, readConfig, refusalResponse, replyCloseCode, sqlLogs } from '../../src/index.ts'

/** The Worker passes the request it validated (mode, since, epoch, identity) to the object in this header. */
export const JOIN_HEADER = 'x-roomcast-join'

/** A hibernatable socket as the core sees it: no bufferedAmount and no ping on this runtime. */
function wrap(ws: WebSocket): Connection {
  return { send: (data) => ws.send(data), close: (code, reason) => ws.close(code, reason) }
}

/** What a room object is built with: the Worker's settings and the application's hooks. */
export interface RoomSettings {
  /** Default: read from the object's env ([vars]), as the Worker's are. */
  config?: Config
  hooks?: Hooks
}

/** What `publish` answers across the RPC boundary, where an error class would lose its fields. */
export type PublishAnswer = number | { rejected: string; message: string; status: 422 | 500 }

/** The room Durable Object. Export a subclass built by `createRoomcast` (`rc.Room`), or this one for the defaults. */
export class RoomObject extends DurableObject<Record<string, unknown>> {
  private readonly room: Room
  /** A cache of the sockets' members, rebuilt from getWebSockets() whenever the object starts. */
  private readonly members = new Map<WebSocket, Member>()

  constructor(ctx: DurableObjectState, env: Record<string, unknown>, settings: RoomSettings = {}) {
    super(ctx, env)
    const config = settings.config ?? readConfig(env as Record<string, string | undefined>)
    // The runtime answers this without waking the object, so a client's keep-alive does not cost a wake-up.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', PONG))
    // The name given to idFromName (the runtime has told objects their name since March 2026).
    const name = ctx.id.name ?? ctx.id.toString()
    this.room = new Room(name, {
      config,
      logs: sqlLogs(ctx.storage.sql, config),
      // An alarm, not a timer: it wakes the object for a token's expiry and lets it hibernate until then.
      scheduleExpiry: (at) => void ctx.storage.setAlarm(at).catch((err) => console.error('roomcast: setAlarm', err)),
      hooks: settings.hooks,
    })
    // Sockets that outlived the last instance (hibernation, eviction): re-admit them as they were.
    for (const ws of ctx.getWebSockets()) {
      const info = ws.deserializeAttachment() as MemberInfo | null
      if (info !== null) this.members.set(ws, this.room.restore(wrap(ws), info))
    }
    if (this.members.size > 0) console.log(`roomcast: room ${name} woke with ${this.members.size} connection(s)`)
  }

  /** The WebSocket upgrade the Worker forwarded, with the join request in JOIN_HEADER. */
  override fetch(request: Request): Response {
    // Checked by the object, which alone knows its members: from the Worker it would cost a second round trip.
    if (this.room.full) return refusalResponse('room_full')
    const join = JSON.parse(request.headers.get(JOIN_HEADER) ?? '{"mode":"raw"}') as JoinRequest
    const { 0: client, 1: server } = new WebSocketPair()
    // acceptWebSocket, not accept(): only sockets accepted this way let the object hibernate.
    this.ctx.acceptWebSocket(server)
    const member = this.room.join(wrap(server), join)
    if (member !== null) {
      server.serializeAttachment(member.info)
      this.members.set(server, member)
    }
    // Echo the subprotocol only if the client offered it (never a token beside it); a client that chose json by ?protocol= offered none.
    const protocol = chooseSubprotocol(request.headers.get('sec-websocket-protocol'))
    const headers: HeadersInit = protocol !== undefined ? { 'Sec-WebSocket-Protocol': protocol } : {}
    return new Response(null, { status: 101, webSocket: client, headers })
  }

  /** `GET /rooms/:room` */
  stats(): Promise<RoomStats> {
    return this.room.stats()
  }

  /** `POST /rooms/:room/messages`: the seq, or what the application's `message` hook said instead. */
  async publish(kind: EntryKind, body: string, from?: string): Promise<PublishAnswer> {
    try {
      return await this.room.publish(kind, body, from)
    } catch (err) {
      if (err instanceof Rejected) return { rejected: err.code, message: err.message, status: err.status }
      throw err
    }
  }

  /** A member's token expired (the alarm set through scheduleExpiry): close it with 4001. */
  override alarm(): void {
    this.room.expire()
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const member = this.members.get(ws)
    if (member === undefined) return ws.close(Errors.internal.close, closeReason('internal', 'unknown connection'))
    this.room.receive(member, message)
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    this.forget(ws)
    // Complete the closing handshake; without it the client sees 1006. Ignored where the runtime already replied.
    try {
      ws.close(replyCloseCode(code), reason)
    } catch {
      // Already closed: nothing to answer.
    }
  }

  override webSocketError(ws: WebSocket): void {
    this.forget(ws)
  }

  private forget(ws: WebSocket): void {
    const member = this.members.get(ws)
    this.members.delete(ws)
    if (member !== undefined) this.room.leave(member)
  }
}
