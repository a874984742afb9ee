#!/usr/bin/env node
/** The standalone Node server (`npm start`): roomcast/node at the root of its own @hono/node-server, and nothing else. */
import { serve } from '@hono/node-server'
import { listeningLine, startup } from '../../src/index.ts'
import { createRoomcast, serverOptions } from './index.ts'

const { config, listen, fail, cannotListen } = startup(process.env, (code) => process.exit(code))
const { port, hostname } = listen

// With REDIS_URL, rooms span every instance sharing that Redis; without it, one process in memory, and
// ioredis is never loaded (about 20 MiB and a tenth of a second at start).
const backend = process.env.REDIS_URL ? await import('../redis/index.ts').then((redis) => redis.redisFromEnv(process.env, config)).catch(fail) : undefined
const rc = createRoomcast({ config, backend })

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
