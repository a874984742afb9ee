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
    // workerd sends no protocol pings and a Durable Object cannot send any (cloudflare/workerd#3664), so a
    // peer that vanishes without a FIN stays a member until TCP notices. Json clients keep themselves alive
    // with {"type":"ping"}, which setWebSocketAutoResponse answers without waking the object.
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
  },
  start: (env) => {
    const dir = tempDir('roomcast-cf-')
    dirs.push(dir)
    return startWrangler(env, dir)
  },
})
