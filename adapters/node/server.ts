#!/usr/bin/env node
/** The standalone Node server (`npm start`): roomcast/node at the root of its own @hono/node-server, and nothing else. */
import { serve } from '@hono/node-server'
import { listeningLine, readConfig, readListen } from '../../src/index.ts'
import { redisFromEnv } from '../redis/index.ts'
import { createRoomcast, serverOptions } from './index.ts'

const env = process.env
const config = readConfig(env)
const { port, hostname } = readListen(env)

// With REDIS_URL, rooms span every instance sharing that Redis; without it, one process in memory.
const backend = await redisFromEnv(env, config)
const rc = createRoomcast({ config, backend })

const server = serve({ fetch: rc.app.fetch, port, hostname, serverOptions }, (info) => {
  console.log(listeningLine(hostname, info.port))
})
rc.attach(server)

const shutdown = rc.shutdown({
  stopAccepting: () => server.close(),
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
