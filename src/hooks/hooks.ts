/**
 * The application's hooks: its own decisions at roomcast's decision points.
 * Each is optional; an absent hook costs nothing. A hook may be async, and is
 * given HOOK_TIMEOUT_MS to answer (limit.ts). One that throws, rejects or
 * answers something unusable refuses that one request with `hook_failed`; one
 * that takes too long refuses it with `hook_timeout`. Neither reaches the room
 * or the process: the error goes to the instance's `onError`.
 */
import type { Context } from 'hono'
import type { Grant } from '../access/credentials.ts'
import type { EntryKind } from '../log/entry.ts'
import type { Mode } from '../wire/frames.ts'
import type { SUBPROTOCOL_V2 } from '../wire/names.ts'

/**
 * What `authorize` is asked about one room: a v1 upgrade (`join`), an HTTP request on a room (`read`,
 * `publish`), or, with `protocol: 'roomcast.v2'`, a v2 connection's `subscribe` (`join`) or its first
 * `publish` to a room it has no verdict for (`publish`).
 */
export interface AuthorizeRequest {
  /** The request as it arrived (headers, cookies, URL), behind the application's own middleware; for v2, the upgrade's. */
  request: Request
  /** The Hono context of that request: whatever the application's middleware set on it (`c.get(...)`); for v2, the upgrade's. */
  c: Context
  /** The room the request is for (already a valid room name). */
  room: string
  /** `join`: a WebSocket upgrade or a v2 subscribe; `read`: `GET /rooms/:room`; `publish`: `POST /rooms/:room/messages` or a v2 publish. */
  action: 'join' | 'read' | 'publish'
  /** `roomcast.v2` when a protocol v2 connection asks (a subscribe or a publish frame); absent for v1 upgrades and HTTP. */
  protocol?: typeof SUBPROTOCOL_V2
  /** What the built-in token check verified, when it ran (`auth: 'after'`) and a token was presented. */
  grant?: Grant
}

/**
 * What `authorize` is asked at a protocol v2 upgrade, which is for no room: whether the connection may open,
 * and the identity its subscriptions start from (each subscribe then asks with its room). `room` is absent.
 */
export interface ConnectRequest {
  request: Request
  c: Context
  /** A v2 connection is for no room. */
  room?: undefined
  action: 'connect'
  protocol: typeof SUBPROTOCOL_V2
  grant?: Grant
}

/** A small JSON object the application attaches to a member: at most MAX_INFO_BYTES serialised. */
export type MemberData = Record<string, unknown>

/** Admit: the identity the member gets (`from` on its messages), whether it may publish, and its `info`. */
export interface Identity {
  /** Shown as `from` on this member's messages (1 to 256 characters); default: the token's `sub`, if any. */
  sub?: string
  /** False admits a read-only member; default: what the token said, else true. */
  canPublish?: boolean
  /** Carried with the member (its MemberInfo, so it survives a Durable Object's hibernation), given to `message`, `joined` and `left`. */
  info?: MemberData
}

/** Refuse: the application's code, an HTTP status (default 403) and a message, in the body and in `X-Roomcast-Error`. */
export interface Denial {
  deny: string
  status?: 400 | 401 | 403 | 404 | 409 | 429 | 503
  message?: string
}

/** `authorize`'s answer: nothing keeps the built-in decision, an Identity admits with it, a Denial refuses. */
export type AuthorizeResult = Identity | Denial | undefined

/** A publish about to be accepted, from a member (WebSocket) or over HTTP. */
export interface MessageRequest {
  room: string
  /** `json`: `data` is the published JSON value; `text`: a string; `binary`: bytes (raw-mode frames). */
  kind: EntryKind
  data: unknown
  /** The publisher's identity, when it has one. */
  from?: string
  /** The publishing member's connection id (absent for HTTP publishes). */
  connectionId?: string
  /** The publishing member's `info`, as `authorize` gave it (absent for HTTP publishes). */
  info?: MemberData
}

/** Reject: the application's code (and message) the publisher gets in its `error` frame or HTTP body. */
export interface Rejection {
  reject: string
  message?: string
  /** The HTTP status an HTTP publisher gets, within 4xx; default 422. */
  status?: number
}

/** Replace: publish this instead (a string is sent as text, bytes as binary, anything else as JSON). */
export interface Replacement {
  data: unknown
}

/** `message`'s answer: nothing accepts the publish as it is; a Replacement publishes its `data` instead; a Rejection refuses it (no seq, nobody receives it). */
export type MessageResult = Replacement | Rejection | undefined

/** Why a member left: `closed` (its socket closed) or the code the server closed it with (`slow_consumer`, `idle_timeout`, `token_expired`, `kicked`, ...). */
export type LeaveReason = string

/** A member of a room as `joined` and `left` see it. */
export interface MemberEvent {
  room: string
  connectionId: string
  mode: Mode
  sub?: string
  info?: MemberData
}

/** A member that left, and why. */
export interface LeftEvent extends MemberEvent {
  reason: LeaveReason
}

/** Something a hook may answer now or later. */
export type Maybe<T> = T | Promise<T>

/** The application's hooks. */
export interface Hooks {
  /**
   * On every upgrade and HTTP room request, after the built-in checks (origin, rate, and the token unless
   * `auth: 'replace'`); for protocol v2, at the upgrade (a ConnectRequest, no room) and per room (each
   * subscribe, and the first publish to a room), the verdict kept per room for the connection's life.
   */
  authorize?(req: AuthorizeRequest | ConnectRequest): Maybe<AuthorizeResult>
  /** Before a publish is given a seq, where the room runs (in its Durable Object on Cloudflare). */
  message?(msg: MessageRequest): Maybe<MessageResult>
  /** A member joined this instance's room (after it was admitted, before its welcome). Its answer is ignored. */
  joined?(member: MemberEvent): Maybe<void>
  /** A member left this instance's room, for whatever reason. Its answer is ignored. */
  left?(member: LeftEvent): Maybe<void>
}

/** Whether an authorize answer refuses. */
export function isDenial(r: AuthorizeResult): r is Denial {
  return typeof r === 'object' && r !== null && typeof (r as Denial).deny === 'string'
}

/** Whether a message answer rejects. */
export function isRejection(r: MessageResult): r is Rejection {
  return typeof r === 'object' && r !== null && typeof (r as Rejection).reject === 'string'
}

/** Whether a message answer replaces the data. */
export function isReplacement(r: MessageResult): r is Replacement {
  return typeof r === 'object' && r !== null && (r as Replacement).data !== undefined
}

/** A publish the `message` hook refused (422 or its 4xx, the application's code), failed on (500 `hook_failed`) or did not answer in time (504 `hook_timeout`). */
export class Rejected extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 422,
  ) {
    super(message)
  }
}

/** The `error` frame for a publish the application refused: its own code, which the core's table does not list. */
export function encodeRejection(code: string, message: string, id: string | undefined): string {
  return JSON.stringify(id === undefined ? { type: 'error', code, message } : { type: 'error', code, message, id })
}

/** The default message of a rejection that gave none. */
export const REJECTED_MESSAGE = 'rejected by the application'
