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
// ---- admin: the admin API, the dashboard's figures, a Durable Object's cost ----
export type { AdminBackend, CodeCounts, DisconnectRequest } from './admin/admin.ts'
export { DEFAULT_MEMBER_LIMIT, DEFAULT_ROOM_LIMIT, MAX_MEMBER_LIMIT, MAX_ROOM_LIMIT } from './admin/admin.ts'
export type { FamilyLike } from './admin/counts.ts'
export { codeCountsFrom } from './admin/counts.ts'
export { decodeCursor, encodeCursor } from './admin/cursor.ts'
export type { Lease, RoomAnswer, RoomDirectory, RoomQuestion } from './admin/directory.ts'
export type { CostState } from './admin/room-cost.ts'
export { EVICT_AFTER_MS, RoomCost, countAutoResponses } from './admin/room-cost.ts'
export { RATE_TAU_MS, TrafficSampler } from './admin/sampler.ts'
export type { AccessConfig } from './config/access-config.ts'
export { readAccess } from './config/access-config.ts'
export type { Clock } from './config/clock.ts'
// ---- config ----
export { realClock } from './config/clock.ts'
export type { Config, Listen } from './config/config.ts'
export { defaults, envNames, listeningLine, readConfig, readListen, readPositiveInt } from './config/config.ts'
export { ConfigError } from './config/config-error.ts'
export { knownEnvNames, lookalikeWarnings, otherEnvNames, scaleOutEnvNames } from './config/env-names.ts'
export type { Authorized, Decision } from './hooks/authorize.ts'
export { MAX_INFO_BYTES, authorizeWith, boundedInfo, decideWith } from './hooks/authorize.ts'
export type {
  AuthorizeRequest,
  AuthorizeResult,
  ConnectRequest,
  Denial,
  Hooks,
  Identity,
  LeaveReason,
  LeftEvent,
  Maybe,
  MemberData,
  MemberEvent,
  MessageRequest,
  MessageResult,
  Rejection,
  Replacement,
} from './hooks/hooks.ts'
// ---- hooks: the application's own decisions ----
export { Rejected, isDenial, isRejection, isReplacement } from './hooks/hooks.ts'
export type { HttpHooksOptions } from './hooks/http.ts'
export { httpHooks, httpHooksFromEnv } from './hooks/http.ts'
export type { Outcome } from './hooks/limit.ts'
export { HookError, HookTimeout, runHook } from './hooks/limit.ts'
export type { Verdict } from './hooks/message.ts'
export { entryOf, vetMessage } from './hooks/message.ts'
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, hmacKey, signBody, verifySignature } from './hooks/sign.ts'
export { DedupeTable } from './log/dedupe.ts'
export type { Draft, Entry, EntryKind } from './log/entry.ts'
// ---- log ----
export { entryBytes, parseEntry, serializeEntry } from './log/entry.ts'
export type { Budgeted } from './log/history-budget.ts'
export { HistoryBudget } from './log/history-budget.ts'
export { MemoryLog, memoryLogs } from './log/memory-log.ts'
export type {
  Appended,
  DedupeLimits,
  Head,
  HistoryLimits,
  LogFactory,
  LogLimits,
  Once,
  RemoteRoster,
  Replay,
  RoomLog,
  RoomSink,
  RosterShare,
} from './log/room-log.ts'
export { DEDUPE_DEFAULTS, OutcomeUnknown, Unavailable, dedupeKey, dedupeLimits, newEpoch, replayFrom } from './log/room-log.ts'
export { SqlDedupe } from './log/sql-dedupe.ts'
export type { SqlStore, SqlValue } from './log/sql-log.ts'
export { SqlLog, sqlLogs } from './log/sql-log.ts'
export type { Family, GaugeReading, Instrument, MetricType, Sample } from './ops/exposition.ts'
// ---- ops: metrics, logs and their settings ----
export { Counter, EXPOSITION_TYPE, Gauge, Histogram, Registry, escapeLabelValue, formatValue, writeExposition } from './ops/exposition.ts'
export { LagProbe } from './ops/lag.ts'
export type { Fields, Level, LogFormat, LoggerOptions } from './ops/logger.ts'
export { LEVELS, Logger, errorFields } from './ops/logger.ts'
export type { BackendView, FrameRefusal, InstanceView, PublishSource } from './ops/metrics.ts'
export { FRAME_REFUSALS, Metrics } from './ops/metrics.ts'
export type { RequestFacts, Who } from './ops/ops.ts'
export { Ops } from './ops/ops.ts'
export type { OpsSettings } from './ops/settings.ts'
export { MIN_METRICS_TOKEN_LENGTH, readOpsSettings } from './ops/settings.ts'
export { MASK, effectiveConfig, logStartup, maskValue, metricsLine } from './ops/startup.ts'
export type { Connection, JoinRequest, MemberInfo } from './room/connection.ts'
// ---- room ----
export { newConnectionId } from './room/connection.ts'
export { Member } from './room/member.ts'
export { httpIdentity, memberIdentity, publisherIdentity } from './room/publisher.ts'
export type { MemberFilter, Publisher, Restored, RoomOptions, RoomStats, Traffic } from './room/room.ts'
export { Room } from './room/room.ts'
export type { RosterOptions, RosterPage, RosterSnapshot, RosterStore } from './room/roster.ts'
export { Roster } from './room/roster.ts'
export type { Fanout } from './room/topics.ts'
export { mountAdmin, readDisconnect } from './server/admin-routes.ts'
export type { PublishOptions, RoomSummary, RoomsApi } from './server/api.ts'
export { checkDisconnect, checkRoom, hubApi, publishEntry } from './server/api.ts'
export type { AppEnv, AppOptions, AuthMode, Health } from './server/app.ts'
export { createApp, parseJoin } from './server/app.ts'
export type { RoomGateway, ScopedSession } from './server/gateway.ts'
export type { HubOptions } from './server/hub.ts'
export { Hub } from './server/hub.ts'
export type { HubAdmin, HubAdminOptions } from './server/hub-admin.ts'
export { hubAdmin } from './server/hub-admin.ts'
export type { WrapSocket } from './server/hub-gateway.ts'
export { hubGateway } from './server/hub-gateway.ts'
export type { Backend, HubRuntime, Roomcast, RoomcastOptions } from './server/instance.ts'
// ---- server: the instance an application builds (each runtime's createRoomcast wraps it), the app ----
export { createHubRoomcast, resolveConfig } from './server/instance.ts'
export { createMetricsApp, serveMetrics } from './server/metrics-route.ts'
export type { RoomAccess } from './server/room-access.ts'
export type { SessionGrant, SessionOptions, SessionRooms, SessionState } from './server/session.ts'
export { Session } from './server/session.ts'
export type { ShutdownHooks } from './server/shutdown.ts'
export { gracefulShutdown } from './server/shutdown.ts'
export type { Exit, Startup, StartupOptions } from './server/startup.ts'
export { startup } from './server/startup.ts'
/** The former name of `encodeMessage`. */
export { encodeMessage as encodeJson } from './wire/encode.ts'
// ---- wire: frames, errors, refusals, encoders, decoders, join rules ----
export * from './wire/index.ts'
export type { RosterMember } from './wire/v2.ts'
