/** The standalone Deno server (`deno task start`): roomcast/deno at the root of its own Deno.serve, and nothing else. */
import { listeningLine, startup } from '../../src/index.ts'
import { createRoomcast } from './index.ts'

const env = Deno.env.toObject()
const { config, listen, fail, listening } = startup(env, (code) => Deno.exit(code))
const { port, hostname } = listen

// With REDIS_URL, rooms span every instance (Node or Deno) sharing that Redis; without it, one process in
// memory, and ioredis is never loaded.
const backend = env.REDIS_URL ? await import('../redis/index.ts').then((redis) => redis.redisFromEnv(env, config)).catch(fail) : undefined
const rc = createRoomcast({ config, backend })

const serveOptions: Deno.ServeTcpOptions = {
  port,
  hostname,
  onListen: (addr) => {
    console.log(listeningLine(addr.hostname, addr.port))
  },
}
// `info` carries remoteAddr, which hono/deno's getConnInfo reads for per-address upgrade limits.
const server = listening(() => Deno.serve(serveOptions, rc.app.fetch))

// Deno.serve cannot stop accepting without closing open sockets with its own reason, so it is shut down
// only after our 1001 close frames (with the core's reason) have gone out.
const shutdown = rc.shutdown({
  finish: () => server.shutdown(),
  exit: (code) => Deno.exit(code),
})
Deno.addSignalListener('SIGTERM', () => void shutdown('SIGTERM'))
Deno.addSignalListener('SIGINT', () => void shutdown('SIGINT'))
