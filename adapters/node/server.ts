#!/usr/bin/env node
/** The standalone Node server (`npm start`): roomcast/node at the root of its own @hono/node-server, and nothing else. */
import { serve } from '@hono/node-server'
import { Ops, createMetricsApp, listeningLine, logStartup, metricsLine, scaleOutEnvNames, startup } from '../../src/index.ts'
import { createRoomcast, serverOptions } from './index.ts'

const { config, listen, hooks, fail, cannotListen } = startup(process.env, (code) => process.exit(code))
const { port, hostname } = listen
// Metrics and logs of this instance (METRICS_TOKEN, METRICS_PORT, LOG_FORMAT, LOG_LEVEL); a bad value ends start-up.
// The effective configuration is printed once the server listens: a server that cannot says only why.
const ops = (() => {
  try {
    return Ops.fromEnv(process.env, process.stdout.isTTY === true)
  } catch (err) {
    return fail(err)
  }
})()

// With REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a cluster), rooms span every instance sharing it; without,
// one process in memory, and ioredis is never loaded (about 20 MiB and a tenth of a second at start).
const scaleOut = scaleOutEnvNames.some((name) => process.env[name])
const backend = scaleOut ? await import('../redis/index.ts').then((redis) => redis.redisFromEnv(process.env, config, ops)).catch(fail) : undefined
const rc = createRoomcast({ config, backend, hooks, ops })

const server = serve({ fetch: rc.app.fetch, port, hostname, serverOptions }, (info) => {
  logStartup(ops.log, process.env, config, ops.settings, { port, hostname })
  ops.log.startup(listeningLine(hostname, info.port))
})
// Until it listens, an error is why it cannot (port in use, HOST that does not resolve); after, it is not start-up's.
server.once('error', cannotListen)
server.once('listening', () => server.off('error', cannotListen))
rc.attach(server)
// METRICS_PORT: /metrics on a listener of its own, and not on the main port.
const metricsPort = ops.settings.metricsPort
const metricsServer =
  metricsPort === undefined
    ? undefined
    : serve({ fetch: createMetricsApp(ops).fetch, port: metricsPort, hostname }, (info) => ops.log.startup(metricsLine(hostname, info.port)))
metricsServer?.once('error', cannotListen)

const shutdown = rc.shutdown({
  stopAccepting: () => {
    server.close()
    metricsServer?.close()
  },
  exit: (code) => process.exit(code),
})
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
