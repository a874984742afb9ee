/** The whole conformance suite on Deno with the Redis backend: one instance must behave exactly like memory. */
import { beforeAll } from 'vitest'
import { REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.ts'
import { spawnServer } from '../support/server.ts'
import { conformance } from './suite.ts'

beforeAll(() => requireRedis())

conformance({
  name: 'deno + redis',
  // The same runtime limits as plain Deno (see deno.test.ts for why each is off).
  caps: {
    slowConsumer: true,
    gracefulShutdown: true,
    idleLiveness: true,
    utf8Validation: false,
    closeCodeWhileClientSends: false,
    closesSlowHandshakes: false,
  },
  start: (env) =>
    spawnServer({
      cmd: 'node_modules/.bin/deno',
      args: ['task', 'start'],
      env: { ...env, REDIS_URL, REDIS_PREFIX: uniquePrefix('conf') },
      timeoutMs: 60000,
    }),
})
