/**
 * The frames of protocol v1 in json mode, both directions, as types. What each
 * is made of on the wire is in encode.ts (server frames) and decode.ts (client
 * frames); wire/index.ts says how the two modes share a room.
 */
import type { ErrorCode } from './errors.ts'

/** A connection's wire mode. */
export type Mode = 'raw' | 'json'

/**
 * How a published message's data travels:
 * - `text`: a raw text frame, or a json publish whose data is a string; carried as the string.
 * - `json`: a json publish whose data is not a string; carried as its JSON text.
 * - `binary`: a raw binary frame; carried as bytes (base64 with `binary: true` in a json `message`).
 */
export type DataKind = 'text' | 'json' | 'binary'

// ---- client -> server (json mode) ----

/**
 * Publish `data` to the room; with `id`, the server answers with an `ack`, and
 * the id is a deduplication key: the same publisher sending the same id again
 * within DEDUPE_WINDOW_MS is acked with the first one's seq and not published again.
 */
export interface PublishFrame {
  type: 'publish'
  data: unknown
  id?: string
}

/** Ask for a `pong`. */
export interface PingFrame {
  type: 'ping'
}

/** Any frame a json-mode client sends. */
export type ClientFrame = PublishFrame | PingFrame

// ---- server -> client (json mode) ----

/** Sent once on open. `seq` is the room's last sequence number. */
export interface WelcomeFrame {
  type: 'welcome'
  room: string
  connectionId: string
  seq: number
  epoch: string
  /** Present when the client asked to resume with `?since=N`. */
  resumed?: { since: number; complete: boolean }
}

/** A message published to the room, to every member but the publisher. */
export interface MessageFrame {
  type: 'message'
  room: string
  seq: number
  /** The published value; for a raw binary frame, its bytes in base64 (and `binary: true`). */
  data: unknown
  ts: number
  /** The publisher's authenticated identity, when the server knows it. */
  from?: string
  binary?: true
}

/** Confirms a publish that carried an `id`. */
export interface AckFrame {
  type: 'ack'
  id: string
  seq: number
  /** The id was already published by this publisher within the dedupe window: `seq` is that entry's, and nothing was published again. */
  duplicate?: true
}

/** The room's member count changed (sent at most once per presence interval). */
export interface PresenceFrame {
  type: 'presence'
  room: string
  connections: number
}

/** A frame was refused; the connection stays open unless a close follows. */
export interface ErrorFrame {
  type: 'error'
  code: ErrorCode
  message: string
  id?: string
}

/** The answer to a `ping`. */
export interface PongFrame {
  type: 'pong'
}

/** Any frame the server sends a json-mode member. */
export type ServerFrame = WelcomeFrame | MessageFrame | AckFrame | PresenceFrame | ErrorFrame | PongFrame
