/** The standalone Deno server (`deno task start`): roomcast/deno at the root of its own Deno.serve, and nothing else. */
import { Ops, createMetricsApp, listeningLine, logStartup, metricsLine, scaleOutEnvNames, startup } from '../../src/index.ts'
import { createRoomcast } from './index.ts'

const env = Deno.env.toObject()
const { config, listen, hooks, fail, listening } = startup(env, (code) => Deno.exit(code))
const { port, hostname } = listen
// Metrics and logs of this instance (METRICS_TOKEN, METRICS_PORT, LOG_FORMAT, LOG_LEVEL); a bad value ends start-up.
// The effective configuration is printed once the server listens: a server that cannot says only why.
const ops = (() => {
  try {
    return Ops.fromEnv(env, Deno.stdout.isTerminal())
  } catch (err) {
    return fail(err)
  }
})()

// With REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a cluster), rooms span every instance (Node, Deno or Bun)
// sharing it; without, one process in memory, and ioredis is never loaded.
const backend = scaleOutEnvNames.some((name) => env[name])
  ? await import('../redis/index.ts').then((redis) => redis.redisFromEnv(env, config, ops)).catch(fail)
  : undefined
const rc = createRoomcast({ config, backend, hooks, ops })

const serveOptions: Deno.ServeTcpOptions = {
  port,
  hostname,
  onListen: (addr) => {
    logStartup(ops.log, env, config, ops.settings, { port, hostname })
    ops.log.startup(listeningLine(addr.hostname, addr.port))
  },
}
// `info` carries remoteAddr, which hono/deno's getConnInfo reads for per-address upgrade limits.
const server = listening(() => Deno.serve(serveOptions, rc.app.fetch))
// METRICS_PORT: /metrics on a listener of its own, and not on the main port.
const metricsPort = ops.settings.metricsPort
const metricsServer =
  metricsPort === undefined
    ? undefined
    : listening(() =>
        Deno.serve({ port: metricsPort, hostname, onListen: (addr) => ops.log.startup(metricsLine(addr.hostname, addr.port)) }, createMetricsApp(ops).fetch),
      )

// Deno.serve cannot stop accepting without closing open sockets with its own reason, so it is shut down
// only after our 1001 close frames (with the core's reason) have gone out.
const shutdown = rc.shutdown({
  finish: () => Promise.all([server.shutdown(), metricsServer?.shutdown()]),
  exit: (code) => Deno.exit(code),
})
Deno.addSignalListener('SIGTERM', () => void shutdown('SIGTERM'))
Deno.addSignalListener('SIGINT', () => void shutdown('SIGINT'))
