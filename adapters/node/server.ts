#!/usr/bin/env node
/** The standalone Node server (`npm start`): roomcast/node at the root of its own @hono/node-server, and nothing else. */
import { serve } from '@hono/node-server'
import { listeningLine, scaleOutEnvNames, startup } from '../../src/index.ts'
import { createRoomcast, serverOptions } from './index.ts'

const { config, listen, hooks, fail, cannotListen } = startup(process.env, (code) => process.exit(code))
const { port, hostname } = listen

// With REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a cluster), rooms span every instance sharing it; without,
// one process in memory, and ioredis is never loaded (about 20 MiB and a tenth of a second at start).
const scaleOut = scaleOutEnvNames.some((name) => process.env[name])
const backend = scaleOut ? await import('../redis/index.ts').then((redis) => redis.redisFromEnv(process.env, config)).catch(fail) : undefined
const rc = createRoomcast({ config, backend, hooks })

const server = serve({ fetch: rc.app.fetch, port, hostname, serverOptions }, (info) => {
  console.log(listeningLine(hostname, info.port))
})
// Until it listens, an error is why it cannot (port in use, HOST that does not resolve); after, it is not start-up's.
server.once('error', cannotListen)
server.once('listening', () => server.off('error', cannotListen))
rc.attach(server)

const shutdown = rc.shutdown({
  stopAccepting: () => server.close(),
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
