/**
 * roomcast's public surface: adapters import from here, never from deep paths.
 * The folders: wire (the protocol), room (one room's members and fan-out),
 * log (seq, history and cross-instance delivery), access (the door and
 * tokens), config (settings and the clock), server (the Hono app and the
 * rooms of one process), client (the browser/Node client and chat page).
 */

// ---- wire: frames, errors, refusals, encoders, decoders, join rules ----
export * from './wire/index.ts'
/** The former name of `encodeMessage`. */
export { encodeMessage as encodeJson } from './wire/encode.ts'

// ---- config ----
export { realClock } from './config/clock.ts'
export type { Clock } from './config/clock.ts'
export { ConfigError } from './config/config-error.ts'
export { defaults, envNames, listeningLine, readConfig, readListen, readPositiveInt } from './config/config.ts'
export type { Config, Listen } from './config/config.ts'
export { readAccess } from './config/access-config.ts'
export { knownEnvNames, lookalikeWarnings, otherEnvNames, scaleOutEnvNames } from './config/env-names.ts'
export type { AccessConfig } from './config/access-config.ts'

// ---- access ----
export { MAX_SUB_LENGTH, bearer, createVerifier, grantsRoom, isRoomPattern, mintToken, readGrant, tokenFromProtocols } from './access/credentials.ts'
export type { Grant, TokenClaims, Verified, Verifier } from './access/credentials.ts'
export { Door, safeEqual } from './access/door.ts'
export type { Admitted } from './access/door.ts'

// ---- log ----
export { entryBytes, parseEntry, serializeEntry } from './log/entry.ts'
export type { Draft, Entry, EntryKind } from './log/entry.ts'
export { MemoryLog, memoryLogs } from './log/memory-log.ts'
export { Unavailable, newEpoch, replayFrom } from './log/room-log.ts'
export type { Head, HistoryLimits, LogFactory, Replay, RoomLog, RoomSink } from './log/room-log.ts'
export { SqlLog, sqlLogs } from './log/sql-log.ts'
export type { SqlStore, SqlValue } from './log/sql-log.ts'

// ---- room ----
export { newConnectionId } from './room/connection.ts'
export type { Connection, JoinRequest, MemberInfo } from './room/connection.ts'
export type { Fanout } from './room/topics.ts'
export { Member } from './room/member.ts'
export { Room } from './room/room.ts'
export type { RoomOptions, RoomStats } from './room/room.ts'

// ---- server ----
export { createApp, parseJoin } from './server/app.ts'
export type { AppOptions, Health } from './server/app.ts'
export type { RoomGateway } from './server/gateway.ts'
export { Hub } from './server/hub.ts'
export type { HubOptions } from './server/hub.ts'
export { hubGateway } from './server/hub-gateway.ts'
export type { WrapSocket } from './server/hub-gateway.ts'
export { gracefulShutdown } from './server/shutdown.ts'
export type { ShutdownHooks } from './server/shutdown.ts'
export { startup } from './server/startup.ts'
export type { Exit, Startup, StartupOptions } from './server/startup.ts'
