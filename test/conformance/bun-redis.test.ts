/** The whole conformance suite on Bun with the Redis backend: one instance must behave exactly like memory. */
import { beforeAll } from 'vitest'
import { REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.ts'
import { spawnServer } from '../support/server.ts'
import { conformance } from './suite.ts'

beforeAll(() => requireRedis())

conformance({
  name: 'bun + redis',
  // The same runtime limits as plain Bun (see bun.test.ts for why).
  caps: {
    slowConsumer: true,
    gracefulShutdown: true,
    idleLiveness: true,
    utf8Validation: true,
    closeCodeWhileClientSends: true,
    tooLargeReasonAtAnySize: false,
  },
  start: (env) =>
    spawnServer({
      cmd: 'node_modules/.bin/bun',
      args: ['run', 'adapters/bun/server.ts'],
      env: { ...env, REDIS_URL, REDIS_PREFIX: uniquePrefix('conf') },
      timeoutMs: 60000,
    }),
})
