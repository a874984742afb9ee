/**
 * Cloudflare: one Durable Object per room, on the WebSocket hibernation API.
 * Members are the object's hibernatable sockets, each one's MemberInfo rides in
 * its attachment, and seq/epoch/history are in the object's SQLite, so the
 * Room rebuilt after hibernation or eviction is the room that was.
 *
 * A protocol v2 socket opened on the room's URL is a core Session serving this room only; its snapshot
 * (id, grant, its subscription's MemberInfo, whether it watches presence) rides in its attachment instead,
 * and the v2 roster keeps what watchers were told and who is in a grace period in SQLite. The roster's
 * ticks, credential expiry and the idle reaper share the one storage alarm (reporter.ts).
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
  RosterPage,
  RosterSnapshot,
  RosterStore,
  ScopedSession,
  SessionRooms,
  SessionState,
} from '../../src/index.ts'
import {
  Errors,
  Ops,
  PONG,
  Rejected,
  Room,
  Session,
  chooseSubprotocol,
  closeReason,
  readConfig,
  realClock,
  refusalResponse,
  replyCloseCode,
  sqlLogs,
} from '../../src/index.ts'
import type { RegistryObject } from './registry.ts'
import { REGISTRY_NAME } from './registry.ts'
import { RoomReporter } from './reporter.ts'

/** The Worker passes the request it validated (mode, since, epoch, identity) to the object in this header. */
export const JOIN_HEADER = 'x-roomcast-join'
/** For a protocol v2 upgrade on the room's URL, the Worker passes the session's grant, client key and info in this header instead. */
export const SESSION_HEADER = 'x-roomcast-session'

/** What a v2 socket's attachment holds (a v1 member's holds its MemberInfo). */
interface SessionAttachment {
  session: SessionState
}

const STATE_SCHEMA = 'CREATE TABLE IF NOT EXISTS roomcast_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)'

/** One small JSON value of this object's SQLite (the roster's snapshot, when a frame last came). */
function readState<T>(sql: SqlStorage, key: string): T | undefined {
  const exists = sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'roomcast_state'").toArray().length > 0
  if (!exists) return undefined
  const row = sql.exec('SELECT value FROM roomcast_state WHERE key = ?', key).toArray()[0]
  return row === undefined ? undefined : (JSON.parse(String(row.value)) as T)
}

function writeState(sql: SqlStorage, key: string, value: unknown): void {
  sql.exec(STATE_SCHEMA)
  sql.exec('INSERT INTO roomcast_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', key, JSON.stringify(value))
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
  /** The v2 sockets (opened on the room's URL), rebuilt from their attachments whenever the object starts. */
  private readonly sessions = new Map<WebSocket, Session>()
  /** The one room as the core's sessions see their rooms. */
  private readonly sessionRooms: SessionRooms
  /** Its cost, its reports to the registry and its wake/idle lines. */
  private readonly reporter: RoomReporter
  private readonly config: Config
  private readonly onError: ((err: unknown) => void) | undefined
  /**
   * When a frame last came from any socket (Unix ms), saved at each flush: after a wake, the latest any
   * socket can have been heard from by a frame, so the reaper never counts a wake as a sign of life.
   */
  private lastFrameAt: number

  constructor(ctx: DurableObjectState, env: Record<string, unknown>, settings: RoomSettings = {}) {
    super(ctx, env)
    const config = settings.config ?? readConfig(env as Record<string, string | undefined>)
    this.config = config
    this.onError = settings.onError
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
      // The v2 roster's ticks and grace ends ride the alarm too, and what it announced lives in SQLite:
      // a leave due after the object hibernated (or was evicted) still goes out, once.
      schedulePresence: (at) => reporter.schedule('presence', at, () => this.room.presenceTick()),
      presenceStore: this.rosterStore(),
      hooks: settings.hooks,
      onError: settings.onError,
    })
    this.sessionRooms = { config, room: () => this.room, canOpen: (n) => n === name, sessions: new Set(), ops }
    const now = Date.now()
    this.lastFrameAt = readState<number>(ctx.storage.sql, 'heard') ?? now
    reporter.onFlush = () => writeState(ctx.storage.sql, 'heard', this.lastFrameAt)
    // Sockets that outlived the last instance (hibernation, eviction): re-admit them as they were.
    for (const ws of ctx.getWebSockets()) {
      // A socket the object closed (the reaper, a kick) may still be listed until the runtime gives up on its close handshake.
      if (ws.readyState !== WebSocket.OPEN) continue
      const saved = ws.deserializeAttachment() as MemberInfo | SessionAttachment | null
      if (saved === null) continue
      if ('session' in saved) {
        this.sessions.set(ws, Session.restore(this.sessionRooms, this.wrap(ws), saved.session, realClock, this.lastFrameAt, this.onError, this.saver(ws)))
      } else this.members.set(ws, this.room.restore(this.wrap(ws), saved, { lastSeen: this.lastFrameAt }))
    }
    this.room.restored()
    // The reporter logs the wake (one JSON 'room woke' line, with what the room cost while it slept).
    reporter.attach(this.room)
    const next = this.reap(now, false)
    if (next !== Number.POSITIVE_INFINITY) this.reporter.schedule('reap', next, () => this.reapNow())
  }

  /** A hibernatable socket as the core sees it: no bufferedAmount and no ping on this runtime, but the time of the last ping it answered for us. */
  private wrap(ws: WebSocket): Connection {
    return {
      send: (data) => ws.send(data),
      close: (code, reason) => ws.close(code, reason),
      heardAt: () => this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime(),
    }
  }

  private saver(ws: WebSocket): (state: SessionState) => void {
    return (session) => ws.serializeAttachment({ session } satisfies SessionAttachment)
  }

  private rosterStore(): RosterStore {
    const sql = this.ctx.storage.sql
    return { load: () => readState<RosterSnapshot>(sql, 'roster'), save: (snapshot) => writeState(sql, 'roster', snapshot) }
  }

  /**
   * Close the json members and v2 sessions heard from neither by a frame nor by an answered keep-alive ping
   * for IDLE_TIMEOUT_MS (`close`: false only looks); returns when to look next (Infinity: no one to watch).
   * Raw members are not watched: they have no keep-alive frame to send, and workerd sends no protocol pings.
   */
  private reap(now: number, close = true): number {
    let next = close ? this.room.reapIdle(now) : this.room.idleDeadline()
    for (const s of this.sessions.values()) next = Math.min(next, close ? s.reapIdle(now) : s.idleDeadline())
    return next
  }

  /** The reaper's alarm. */
  private reapNow(): void {
    const now = Date.now()
    const next = this.reap(now)
    // The next look at most every IDLE_TIMEOUT_MS / 2: a vanished client goes within 1.5 x IDLE_TIMEOUT_MS,
    // and a room of clients that ping often costs at most 2 x 3600 s / IDLE_TIMEOUT_MS alarms an hour. (Not
    // on a wake: there the look is due when the stalest member would be idle, or the floor would put it off
    // at every wake.)
    if (next !== Number.POSITIVE_INFINITY) this.reporter.schedule('reap', Math.max(next, now + this.config.idleTimeoutMs / 2), () => this.reapNow())
  }

  /** A json member or a v2 socket joined: make sure the reaper looks, at the latest when this one could be idle. */
  private watchIdle(): void {
    if (this.reporter.due('reap') !== Number.POSITIVE_INFINITY) return
    this.reporter.schedule('reap', Date.now() + this.config.idleTimeoutMs + 1, () => this.reapNow())
  }

  /** The WebSocket upgrade the Worker forwarded, with the join request in JOIN_HEADER. */
  override fetch(request: Request): Response {
    this.reporter.activity()
    // Checked by the object, which alone knows its members: from the Worker it would cost a second round trip.
    if (this.room.full) return refusalResponse('room_full')
    const { 0: client, 1: server } = new WebSocketPair()
    // acceptWebSocket, not accept(): only sockets accepted this way let the object hibernate.
    this.ctx.acceptWebSocket(server)
    const scoped = request.headers.get(SESSION_HEADER)
    if (scoped !== null) {
      // Protocol v2 on the room's URL: the core's session, serving this room only.
      const { grant, client: key, info } = JSON.parse(scoped) as ScopedSession
      const options = info === undefined ? { scope: this.room.name, saved: this.saver(server) } : { scope: this.room.name, info, saved: this.saver(server) }
      const session = new Session(this.sessionRooms, this.wrap(server), grant, realClock, this.onError, key, options)
      this.sessions.set(server, session)
      session.open()
      server.serializeAttachment({ session: session.snapshot() } satisfies SessionAttachment)
      this.reporter.touched()
      this.watchIdle()
    } else {
      const join = JSON.parse(request.headers.get(JOIN_HEADER) ?? '{"mode":"raw"}') as JoinRequest
      const member = this.room.join(this.wrap(server), join)
      if (member !== null) {
        server.serializeAttachment(member.info)
        this.members.set(server, member)
        this.reporter.touched()
        if (join.mode === 'json') this.watchIdle()
      }
    }
    // Echo the subprotocol only if the client offered it (never a token beside it); a client that chose json by ?protocol= offered none.
    const protocol = chooseSubprotocol(request.headers.get('sec-websocket-protocol'))
    const headers: HeadersInit = protocol !== undefined ? { 'Sec-WebSocket-Protocol': protocol } : {}
    return new Response(null, { status: 101, webSocket: client, headers })
  }

  /** `GET /rooms/:room/presence`: a page of the v2 roster as of its last tick. */
  presence(limit: number, cursor?: string): RosterPage {
    this.reporter.activity()
    return this.room.presencePage(limit, cursor)
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

  /** The alarm: a member's token expired (close it with 4001), a roster tick, the idle reaper, or the reporter's flush is due. */
  override alarm(): void {
    this.reporter.onAlarm()
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    this.reporter.activity()
    this.lastFrameAt = Date.now()
    const session = this.sessions.get(ws)
    if (session !== undefined) return session.receive(message)
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
    const session = this.sessions.get(ws)
    if (session !== undefined) {
      this.sessions.delete(ws)
      return session.socketClosed()
    }
    const member = this.members.get(ws)
    this.members.delete(ws)
    if (member !== undefined) this.room.leave(member)
  }
}
