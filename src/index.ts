/**
 * roomcast's public surface: adapters import from here, never from deep paths.
 * The folders: wire (the protocol), room (one room's members and fan-out),
 * log (seq, history and cross-instance delivery), access (the door and
 * tokens), config (settings and the clock), server (the Hono app and the
 * rooms of one process), client (the browser/Node client and chat page).
 */

export type { Grant, TokenClaims, Verified, Verifier } from './access/credentials.ts'
// ---- access ----
export { MAX_SUB_LENGTH, bearer, createVerifier, grantsRoom, isRoomPattern, mintToken, readGrant, tokenFromProtocols } from './access/credentials.ts'
export type { Admitted } from './access/door.ts'
export { Door, safeEqual } from './access/door.ts'
export type { AccessConfig } from './config/access-config.ts'
export { readAccess } from './config/access-config.ts'
export type { Clock } from './config/clock.ts'
// ---- config ----
export { realClock } from './config/clock.ts'
export type { Config, Listen } from './config/config.ts'
export { defaults, envNames, listeningLine, readConfig, readListen, readPositiveInt } from './config/config.ts'
export { ConfigError } from './config/config-error.ts'
export { knownEnvNames, lookalikeWarnings, otherEnvNames, scaleOutEnvNames } from './config/env-names.ts'
export type { AuthorizeRequest, AuthorizeResult, Denial, Hooks, Identity, MessageRequest, MessageResult, Rejection } from './hooks/hooks.ts'
// ---- hooks: the application's own decisions ----
export { Rejected, isDenial, isRejection } from './hooks/hooks.ts'
export type { Draft, Entry, EntryKind } from './log/entry.ts'
// ---- log ----
export { entryBytes, parseEntry, serializeEntry } from './log/entry.ts'
export { MemoryLog, memoryLogs } from './log/memory-log.ts'
export type { Head, HistoryLimits, LogFactory, Replay, RoomLog, RoomSink } from './log/room-log.ts'
export { Unavailable, newEpoch, replayFrom } from './log/room-log.ts'
export type { SqlStore, SqlValue } from './log/sql-log.ts'
export { SqlLog, sqlLogs } from './log/sql-log.ts'
export type { Connection, JoinRequest, MemberInfo } from './room/connection.ts'
// ---- room ----
export { newConnectionId } from './room/connection.ts'
export { Member } from './room/member.ts'
export type { RoomOptions, RoomStats } from './room/room.ts'
export { Room } from './room/room.ts'
export type { Fanout } from './room/topics.ts'
export type { AppEnv, AppOptions, Health } from './server/app.ts'
export { createApp, parseJoin } from './server/app.ts'
export type { RoomGateway } from './server/gateway.ts'
export type { HubOptions } from './server/hub.ts'
export { Hub } from './server/hub.ts'
export type { WrapSocket } from './server/hub-gateway.ts'
export { hubGateway } from './server/hub-gateway.ts'
export type { Backend, HubRuntime, Roomcast, RoomcastOptions } from './server/instance.ts'
// ---- server: the instance an application builds (each runtime's createRoomcast wraps it), the app ----
export { createHubRoomcast, resolveConfig } from './server/instance.ts'
export type { ShutdownHooks } from './server/shutdown.ts'
export { gracefulShutdown } from './server/shutdown.ts'
export type { Exit, Startup, StartupOptions } from './server/startup.ts'
export { startup } from './server/startup.ts'
/** The former name of `encodeMessage`. */
export { encodeMessage as encodeJson } from './wire/encode.ts'
// ---- wire: frames, errors, refusals, encoders, decoders, join rules ----
export * from './wire/index.ts'
