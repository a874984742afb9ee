/**
 * The application's hooks: its own decisions at roomcast's decision points.
 * Each is optional; an absent hook costs nothing. A hook may be async. One
 * that throws (or rejects) refuses that one request with `hook_failed`; it
 * never reaches the room or the process.
 */
import type { Context } from 'hono'
import type { Grant } from '../access/credentials.ts'
import type { EntryKind } from '../log/entry.ts'

/** What `authorize` is asked about: one upgrade (`join`) or one HTTP request on a room (`read`, `publish`). */
export interface AuthorizeRequest {
  /** The request as it arrived (headers, cookies, URL), behind the application's own middleware. */
  request: Request
  /** The Hono context of that request: whatever the application's middleware set on it (`c.get(...)`). */
  c: Context
  /** The room the request is for (already a valid room name). */
  room: string
  /** `join`: a WebSocket upgrade; `read`: `GET /rooms/:room`; `publish`: `POST /rooms/:room/messages`. */
  action: 'join' | 'read' | 'publish'
  /** What the built-in token check verified, when a token was configured and presented. */
  grant?: Grant
}

/** Admit: the identity the member gets (`from` on its messages) and whether it may publish. */
export interface Identity {
  /** Shown as `from` on this member's messages (1 to 256 characters); default: the token's `sub`, if any. */
  sub?: string
  /** False admits a read-only member; default: what the token said, else true. */
  canPublish?: boolean
}

/** Refuse: an HTTP status (default 403) and the application's code, in the body and in `X-Roomcast-Error`. */
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
}

/** Reject: the application's code (and message) the publisher gets in its `error` frame or HTTP body. */
export interface Rejection {
  reject: string
  message?: string
}

/** `message`'s answer: nothing accepts the publish as it is; a Rejection refuses it (no seq, nobody receives it). */
export type MessageResult = Rejection | undefined

/** The application's hooks. */
export interface Hooks {
  /** On every upgrade and HTTP room request, after the built-in checks (origin, rate, token). */
  authorize?(req: AuthorizeRequest): AuthorizeResult | Promise<AuthorizeResult>
  /** Before a publish is given a seq, where the room runs (in its Durable Object on Cloudflare). */
  message?(msg: MessageRequest): MessageResult | Promise<MessageResult>
}

/** Whether an authorize answer refuses. */
export function isDenial(r: AuthorizeResult): r is Denial {
  return typeof r === 'object' && r !== null && typeof (r as Denial).deny === 'string'
}

/** Whether a message answer rejects. */
export function isRejection(r: MessageResult): r is Rejection {
  return typeof r === 'object' && r !== null && typeof (r as Rejection).reject === 'string'
}

/** A publish the `message` hook refused (422, the application's code) or failed on (500 `hook_failed`). */
export class Rejected extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: 422 | 500 = 422,
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
