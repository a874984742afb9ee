/**
 * The wire, protocol v1: everything a client and the server say to each other,
 * and nothing else. Read this folder to learn the format.
 *
 * Connect: `GET /` (the default room) or `GET /rooms/:room` with
 * `Upgrade: websocket`. A room name is 1 to 64 of `A-Z a-z 0-9 _ . -`, other
 * than `.` and `..` (names.ts).
 * The query and subprotocol pick the mode and a resume point (join.ts):
 * - raw (default): text frames go byte for byte to every member, the sender
 *   included; binary frames go out as binary. No envelopes.
 * - json: subprotocol `roomcast.v1` (or `?protocol=roomcast.v1`); with
 *   `?since=N&epoch=E` the server replays what came after N.
 *
 * Json frames (frames.ts; decode.ts reads the client's, encode.ts writes the server's):
 *   client -> server  {"type":"publish","data":<any JSON>,"id"?:"..."}   {"type":"ping"}
 *   server -> client  welcome {room, connectionId, seq, epoch, resumed?}   first, once
 *                     message {room, seq, data, ts, from?, binary?}        to every member but the publisher
 *                     ack {id, seq, duplicate?}   presence {room, connections}   error {code, message, id?}   pong
 *
 * A publish's `id` is a deduplication key: the same publisher (its token's
 * `sub`, else its `?client=` key, else its connection) sending an id again
 * within DEDUPE_WINDOW_MS gets the first one's seq with `duplicate: true`, and
 * nothing is published again. HTTP does the same with `Idempotency-Key`.
 *
 * Errors (errors.ts): one table of codes, each with the close code that follows
 * (or none: the connection stays open) and whether a retry can help; a close
 * reason is always `"<code>: <message>"`. HTTP refusals (refusals.ts) carry
 * `{error, message}`, the code again in `X-Roomcast-Error`, and `Retry-After`
 * on 429 and 503.
 *
 * The admin API's bodies (admin.ts) are types only: rooms, members, stats.
 *
 * What a runtime hands over as a frame becomes text or bytes in payload.ts;
 * bytes.ts holds the UTF-8 and base64 arithmetic the encoders share.
 */
export type { AdminStats, BackendState, MemberSummary, RoomCostReport, RoomDetail, RoomListing, RoomPage, SeriesPoint } from './admin.ts'
export { fromBase64, toBase64, utf8Length } from './bytes.ts'
export type { Decoded } from './decode.ts'
export { MAX_ID_LENGTH, MAX_JSON_DEPTH, decodeClientFrame, nestedTooDeeply } from './decode.ts'
export type { MessageSource } from './encode.ts'
export { PONG, encodeAck, encodeError, encodeMessage, encodePresence, encodeWelcome } from './encode.ts'
export type { ErrorCode, ErrorSpec, Retry } from './errors.ts'
export { CloseCode, Errors, closeReason, closeReasonCode } from './errors.ts'
export type {
  AckFrame,
  ClientFrame,
  DataKind,
  ErrorFrame,
  MessageFrame,
  Mode,
  PingFrame,
  PongFrame,
  PresenceFrame,
  PublishFrame,
  ServerFrame,
  WelcomeFrame,
} from './frames.ts'
export type { BadHandshake } from './handshake.ts'
export { WEBSOCKET_VERSION, handshakeProblem, hasDotSegment, isValidHost } from './handshake.ts'
export { IDEMPOTENCY_KEY, parseIdempotencyKey } from './idempotency.ts'
export type { JoinQuery } from './join.ts'
export { chooseSubprotocol, parseJoinQuery, readClientKey, wantsV2 } from './join.ts'
export { ROOM_NAME_RULE, SUBPROTOCOL, SUBPROTOCOL_V2, isDotSegment, isRoomName } from './names.ts'
export { normaliseFrame, replyCloseCode } from './payload.ts'
export type { AppRefusal, Refusal, RefusalCode, RefusalSpec } from './refusals.ts'
export { Refusals, refusal, refusalResponse } from './refusals.ts'
export type { ClientFrameV2, DecodedV2, PublishV2Frame, RosterMember, SubscribeFrame, UnsubscribeFrame } from './v2.ts'
// Protocol v2: many rooms over one connection (v2.ts).
export {
  decodeClientFrameV2,
  encodeAckV2,
  encodeErrorV2,
  encodePresenceDiff,
  encodePresenceState,
  encodeSubscribed,
  encodeUnsubscribed,
  encodeWelcomeV2,
} from './v2.ts'
