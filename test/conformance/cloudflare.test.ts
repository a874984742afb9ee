import { afterAll } from 'vitest'
import { removeDir, startWrangler, tempDir } from '../support/wrangler.ts'
import { conformance } from './suite.ts'

const dirs: string[] = []
afterAll(() => dirs.forEach(removeDir))

conformance({
  name: 'cloudflare (wrangler dev on workerd)',
  caps: {
    // A Worker's WebSocket has no bufferedAmount: the object cannot see that a reader fell behind.
    slowConsumer: false,
    // wrangler stops workerd on SIGTERM without running any Worker code (a Worker cannot hook process
    // signals), so clients see the TCP connection drop (1006), not 1001. On Cloudflare a deploy does the same.
    gracefulShutdown: false,
    // workerd sends no protocol pings and a Durable Object cannot send any (cloudflare/workerd#3664). Json and
    // v2 members are reaped instead by the object's alarm when neither a frame nor an auto-answered
    // {"type":"ping"} came for IDLE_TIMEOUT_MS (getWebSocketAutoResponseTimestamp): the v2 scenario of a
    // silent json member and v2 socket runs here too. Only partly, so off: this flag's scenarios use a raw
    // member, which has no keep-alive frame, and whose protocol pings workerd answers without a trace. The
    // looks cost an idle room with members about 102 alarms and 90 wake-ups an hour at the default 60 s
    // (`npm run bench:cf-v2 -- --seconds=600`, docs/protocol-v2.md).
    idleLiveness: false,
    // workerd decodes a text frame before the object sees it, turning invalid UTF-8 into U+FFFD and never
    // closing with 1007; the core cannot tell such a frame from one that really carries U+FFFD.
    utf8Validation: false,
    closeCodeWhileClientSends: true,
    // Each room is its own Durable Object, so no instance holds every connection to count against MAX_CONNECTIONS.
    instanceConnectionLimit: false,
    // workerd and wrangler's dev proxy answer odd upgrades before the Worker runs: a Host that names no host
    // and an absolute-form target get 500 (workerd cannot make a URL of them), a missing key or a version other
    // than 13 their own plain-text 400, and the Worker never sees Connection (a hop-by-hop header).
    oddRequestsReachApp: false,
    // Each room is its own Durable Object with its own memory and storage: there is no instance whose rooms
    // MAX_ROOMS could count or whose memory HISTORY_TOTAL_BYTES could bound.
    instanceRoomLimit: false,
    // workerd parses the request URL before any Worker code runs and keeps no other copy of the target, so
    // `/rooms/..` and `/rooms/%2e%2e` arrive as `/` (the default room, as a browser would have sent them). The
    // room names . and .. are still refused (isRoomName) where a Worker does see them.
    dotSegmentsReachApp: false,
    // A WebSocket belongs to the one Durable Object that accepted it, and each room is its own object: a v2
    // socket on / cannot be a member of several rooms. v2 is served on each room's URL instead, by the room's
    // object, and the client library opens one such socket per room behind its v2 API. Measured with
    // `npm run bench:cf-v2` (wrangler dev, 11 v2 sockets, 100 messages): 1.04 room-object invocations per
    // message (the frame in, and 0.04 alarms), 0 wake-ups, and 0 requests per message per member (each
    // delivery is a send of the room's object). A per-connection relay object would add one subrequest per
    // message per member (10 more here: 11.04 per message) and a wake-up of each member's object that slept
    // (docs/protocol-v2.md, Cloudflare).
    multiplexing: false,
    // No instance holds every room to sample for the dashboard's charts: the registry has each room's figures
    // as it last reported them (adapters/cloudflare/registry.ts), and GET /admin/stats sums those.
    adminSeries: false,
    // No instance holds the rooms (each is its own Durable Object) and a Worker has no second listener: no /metrics.
    metrics: false,
    startupLog: false,
  },
  start: (env) => {
    const dir = tempDir('roomcast-cf-')
    dirs.push(dir)
    return startWrangler(env, dir)
  },
})
