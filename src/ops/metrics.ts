/**
 * roomcast's metrics of one server instance: what docs/operations.md lists.
 * Counted where things happen, at most once per broadcast on the fan-out
 * path; the gauges (connections, rooms, history, backend, lag) are read from
 * the instance when scraped, never maintained.
 */
import { Errors } from '../wire/errors.ts'
import { Refusals } from '../wire/refusals.ts'
import type { Family } from './exposition.ts'
import { Counter, Gauge, Histogram, Registry } from './exposition.ts'
import { LagProbe } from './lag.ts'

/** Where a published message came from. */
export type PublishSource = 'ws' | 'http' | 'server'

/** What the gauges read from the rooms of an instance (a Hub) at scrape time. */
export interface InstanceView {
  /** Rooms open on this instance. */
  readonly roomCount: number
  /** Connections on this instance, by mode: v1 members (raw, json) and protocol v2 connections (however many rooms each holds). */
  membersByMode(): ModeCounts
  /** Bytes of message bodies this instance holds in history (memory logs; 0 where history lives in Redis). */
  historyBytes(): number
}

/** Connections by mode, as the connections gauge reads them. */
export interface ModeCounts {
  raw: number
  json: number
  v2: number
}

/** What the backend gauge reads: the same as `/healthz`. */
export interface BackendView {
  ready: boolean
  backend: string
}

/** Publish latency, in seconds: sub-millisecond in memory, a Redis round trip or two otherwise. */
const PUBLISH_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
/** Fan-out time of one broadcast, in seconds: microseconds for a few members, milliseconds for thousands. */
const FANOUT_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25]
/** Redis command time, in seconds. */
const COMMAND_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/**
 * Frame refusals that keep the connection open (the error-frame codes); a frame that closes it counts as a close
 * instead. The second row is protocol v2's refusals of a subscribe (or of a publish, by the `authorize` hook).
 */
export const FRAME_REFUSALS = [
  'bad_json',
  'bad_frame',
  'forbidden',
  'rate_limited',
  'unavailable',
  'outcome_unknown',
  ...['bad_room', 'room_full', 'too_many_subscriptions', 'already_subscribed', 'too_many_rooms', 'hook_failed', 'hook_timeout', 'wrong_room'],
] as const
/** A code of `FRAME_REFUSALS`. */
export type FrameRefusal = (typeof FRAME_REFUSALS)[number]

/** Refusals an upgrade can get (others appear as they happen: every label value is a Refusals code, so the set is bounded). */
const UPGRADE_REFUSALS = [
  'bad_room',
  'bad_request',
  'unauthorized',
  'forbidden',
  'bad_origin',
  'not_found',
  'rate_limited',
  'internal',
  'unavailable',
  'server_full',
  'room_full',
]
/** Refusals of HTTP requests, the upgrade-only ones left out. */
const HTTP_REFUSALS = Object.keys(Refusals).filter((code) => code !== 'server_full' && code !== 'room_full')

const CLOSE_CODES = Object.entries(Errors)
  .filter(([, spec]) => spec.close !== null)
  .map(([code]) => code)

/** The metrics of one server instance. */
export class Metrics {
  readonly registry = new Registry()
  /** Drift of a repeating timer; Hub.start() starts it. */
  readonly lag = new LagProbe()
  private instance: InstanceView | undefined
  private backend: (() => BackendView) | undefined

  readonly connections = this.registry.add(
    new Gauge('roomcast_connections', 'WebSocket connections on this instance, by mode: raw, json (v1) or v2', () => this.byMode(), 'mode'),
  )
  readonly rooms = this.registry.add(new Gauge('roomcast_rooms', 'Rooms open on this instance', () => this.instance?.roomCount ?? 0))
  readonly upgrades = this.registry.add(
    new Counter('roomcast_upgrades_total', 'WebSocket upgrade requests, by result: accepted, or the refusal code', 'result', ['accepted', ...UPGRADE_REFUSALS]),
  )
  readonly httpRefusals = this.registry.add(
    new Counter('roomcast_http_refusals_total', 'HTTP requests other than upgrades refused, by refusal code', 'code', HTTP_REFUSALS),
  )
  readonly published = this.registry.add(
    new Counter('roomcast_messages_published_total', 'Messages given a seq, by where they came from: ws, http or server', 'source', ['ws', 'http', 'server']),
  )
  readonly deliveries = this.registry.add(new Counter('roomcast_deliveries_total', 'Messages handed to members by broadcasts (one per recipient)'))
  readonly bytesSent = this.registry.add(new Counter('roomcast_bytes_sent_total', 'Payload bytes of the messages handed to members by broadcasts'))
  readonly bytesReceived = this.registry.add(new Counter('roomcast_bytes_received_total', 'Payload bytes of every WebSocket frame received from members'))
  readonly framesRefused = this.registry.add(
    new Counter('roomcast_frames_refused_total', 'Frames refused with the connection kept open, by error code', 'code', FRAME_REFUSALS),
  )
  readonly closes = this.registry.add(new Counter('roomcast_closes_total', 'Connections the server closed, by error code', 'code', CLOSE_CODES))
  readonly publishSeconds = this.registry.add(
    new Histogram('roomcast_publish_seconds', 'From a publish reaching the room to its seq being assigned (Redis round trip included)', PUBLISH_BUCKETS),
  )
  readonly fanoutSeconds = this.registry.add(new Histogram('roomcast_fanout_seconds', 'Time to hand one broadcast to every member', FANOUT_BUCKETS))
  readonly historyBytes = this.registry.add(
    new Gauge('roomcast_history_bytes', 'Bytes of message bodies held in history by this instance', () => this.instance?.historyBytes() ?? 0),
  )
  readonly backendUp = this.registry.add(
    new Gauge(
      'roomcast_backend_up',
      'Whether the backend holding seq and history is reachable (1) or not (0), by backend',
      () => this.backendReading(),
      'backend',
    ),
  )
  readonly backendCommandSeconds = this.registry.add(
    new Histogram('roomcast_backend_command_seconds', 'Time of each backend (Redis) command, by command', COMMAND_BUCKETS, 'command'),
  )
  readonly eventLoopLag = this.registry.add(
    new Gauge('roomcast_event_loop_lag_seconds', 'The largest event-loop lag of the last 5 s, from timer drift', () => this.lag.seconds),
  )

  constructor(
    /** A monotonic clock in milliseconds, for durations. */
    readonly now: () => number = () => performance.now(),
  ) {}

  /** Read the gauges of rooms from `instance` (the Hub calls this once). */
  watch(instance: InstanceView): void {
    this.instance = instance
  }

  /** Read `roomcast_backend_up` from `health` (the app calls this once). */
  watchBackend(health: () => BackendView): void {
    this.backend = health
  }

  /** One broadcast reached `frames` members with `bytes` in all: one addition each, never one per recipient. */
  broadcast(frames: number, bytes: number): void {
    this.deliveries.value += frames
    this.bytesSent.value += bytes
  }

  /** Every family as it is now. */
  families(): Family[] {
    return this.registry.families()
  }

  /** The text exposition (for `GET /metrics`). */
  render(): string {
    return this.registry.render()
  }

  private byMode(): [string, number][] {
    const m = this.instance?.membersByMode() ?? { raw: 0, json: 0, v2: 0 }
    return [
      ['raw', m.raw],
      ['json', m.json],
      ['v2', m.v2],
    ]
  }

  private backendReading(): [string, number][] {
    const h = this.backend?.() ?? { ready: true, backend: 'memory' }
    return [[h.backend, h.ready ? 1 : 0]]
  }
}
