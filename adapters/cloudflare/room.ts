/**
 * Cloudflare: one Durable Object per room, on the WebSocket hibernation API.
 * Members are the object's hibernatable sockets, each one's MemberInfo rides in
 * its attachment, and seq/epoch/history are in the object's SQLite, so the
 * Room rebuilt after hibernation or eviction is the room that was.
 */
import { DurableObject } from 'cloudflare:workers'
import type {
  Appended,
  Config,
  Connection,
  DisconnectRequest,
  EntryKind,
  ErrorCode,
  Hooks,
  JoinRequest,
  Member,
  MemberFilter,
  MemberInfo,
  Once,
  RoomDetail,
  RoomStats,
} from '../../src/index.ts'
import { Errors, Ops, PONG, Rejected, Room, chooseSubprotocol, closeReason, readConfig, refusalResponse, replyCloseCode, sqlLogs } from '../../src/index.ts'
import type { RegistryObject } from './registry.ts'
import { REGISTRY_NAME } from './registry.ts'
import { RoomReporter } from './reporter.ts'

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
  /** Where a hook's failures and unexpected errors go; default console.error. */
  onError?: (err: unknown) => void
  /** The registry's Durable Object binding, which the room reports to; default `REGISTRY` (absent: it reports nowhere). */
  registryBinding?: string
}

/** What `publish` answers across the RPC boundary, where an error class would lose its fields. */
export type PublishAnswer = Appended | { rejected: string; message: string; status: number }

/** The room Durable Object. Export a subclass built by `createRoomcast` (`rc.Room`), or this one for the defaults. */
export class RoomObject extends DurableObject<Record<string, unknown>> {
  private readonly room: Room
  /** A cache of the sockets' members, rebuilt from getWebSockets() whenever the object starts. */
  private readonly members = new Map<WebSocket, Member>()
  /** Its cost, its reports to the registry and its wake/idle lines. */
  private readonly reporter: RoomReporter

  constructor(ctx: DurableObjectState, env: Record<string, unknown>, settings: RoomSettings = {}) {
    super(ctx, env)
    const config = settings.config ?? readConfig(env as Record<string, string | undefined>)
    // The room's lines (closes, refusals) as JSON through console.log, which Workers Logs index.
    const ops = Ops.fromEnv(env as Record<string, string | undefined>)
    // The runtime answers this without waking the object, so a client's keep-alive does not cost a wake-up.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', PONG))
    const registry = env[settings.registryBinding ?? 'REGISTRY'] as DurableObjectNamespace<RegistryObject> | undefined
    const reporter = new RoomReporter(ctx, registry === undefined ? undefined : () => registry.get(registry.idFromName(REGISTRY_NAME)))
    this.reporter = reporter
    // The name given to idFromName (the runtime has told objects their name since March 2026, except when
    // their alarm starts them: then the name the reporter saved).
    const name = reporter.name
    this.room = new Room(name, {
      config,
      logs: sqlLogs(ctx.storage.sql, config),
      ops,
      // An alarm, not a timer: it wakes the object for a token's expiry and lets it hibernate until then.
      // The reporter shares the one alarm with its flush.
      scheduleExpiry: (at) => reporter.scheduleExpiry(at),
      hooks: settings.hooks,
      onError: settings.onError,
    })
    // Sockets that outlived the last instance (hibernation, eviction): re-admit them as they were.
    for (const ws of ctx.getWebSockets()) {
      const info = ws.deserializeAttachment() as MemberInfo | null
      if (info !== null) this.members.set(ws, this.room.restore(wrap(ws), info))
    }
    // The reporter logs the wake (one JSON 'room woke' line, with what the room cost while it slept).
    reporter.attach(this.room)
  }

  /** The WebSocket upgrade the Worker forwarded, with the join request in JOIN_HEADER. */
  override fetch(request: Request): Response {
    this.reporter.activity()
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
      this.reporter.touched()
    }
    // Echo the subprotocol only if the client offered it (never a token beside it); a client that chose json by ?protocol= offered none.
    const protocol = chooseSubprotocol(request.headers.get('sec-websocket-protocol'))
    const headers: HeadersInit = protocol !== undefined ? { 'Sec-WebSocket-Protocol': protocol } : {}
    return new Response(null, { status: 101, webSocket: client, headers })
  }

  /** `GET /rooms/:room` */
  stats(): Promise<RoomStats> {
    this.reporter.activity()
    return this.room.stats()
  }

  /** `POST /rooms/:room/messages` (its Idempotency-Key as `once`, looked up in this object's SQLite): the seq, or what the application's `message` hook said instead. */
  async publish(kind: EntryKind, body: string, from?: string, once?: Once): Promise<PublishAnswer> {
    this.reporter.activity()
    try {
      const answer =
        once === undefined
          ? { seq: await this.room.publish(kind, body, from), duplicate: false, mismatch: false }
          : await this.room.publishOnce(kind, body, once, from)
      this.reporter.touched()
      return answer
    } catch (err) {
      if (err instanceof Rejected) return { rejected: err.code, message: err.message, status: err.status }
      throw err
    }
  }

  /** The application's own publish (`rc.publish`): no `message` hook, the seq. */
  async send(kind: EntryKind, body: string | Uint8Array, from?: string): Promise<number> {
    this.reporter.activity()
    const seq = await this.room.publish(kind, body, from, undefined, false, 'server')
    this.reporter.touched()
    return seq
  }

  /** The application's disconnect (`rc.disconnect`): close the members `who` names with `code`; how many. */
  disconnect(who: MemberFilter, code: ErrorCode): number {
    this.reporter.activity()
    return this.room.disconnect(who, code)
  }

  /** `GET /admin/rooms/:room`: the members, and the object's cost so far. */
  async adminDetail(memberLimit: number): Promise<RoomDetail> {
    this.reporter.activity()
    const stats = await this.room.stats()
    return { ...stats, members: this.room.memberList(memberLimit), cost: this.reporter.current() }
  }

  /** `POST /admin/rooms/:room/disconnect` */
  adminDisconnect({ code, ...filter }: DisconnectRequest): number {
    this.reporter.activity()
    return this.room.disconnect(filter, code)
  }

  /** `DELETE /admin/rooms/:room/history`: resolves with the seq, which goes on. */
  async adminClearHistory(): Promise<number> {
    this.reporter.activity()
    await this.room.clearHistory()
    return (await this.room.stats()).seq
  }

  /** The alarm: a member's token expired (close it with 4001), or the reporter's flush is due. */
  override alarm(): void {
    this.reporter.onAlarm()
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    this.reporter.activity()
    const member = this.members.get(ws)
    if (member === undefined) return ws.close(Errors.internal.close, closeReason('internal', 'unknown connection'))
    this.room.receive(member, message)
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    this.reporter.activity()
    this.forget(ws)
    // Complete the closing handshake; without it the client sees 1006. Ignored where the runtime already replied.
    try {
      ws.close(replyCloseCode(code), reason)
    } catch {
      // Already closed: nothing to answer.
    }
  }

  override webSocketError(ws: WebSocket): void {
    this.reporter.activity()
    this.forget(ws)
  }

  private forget(ws: WebSocket): void {
    const member = this.members.get(ws)
    this.members.delete(ws)
    if (member !== undefined) this.room.leave(member)
  }
}
