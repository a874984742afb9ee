/** The whole conformance suite on Node with the Redis backend: one instance must behave exactly like memory. */
import { beforeAll } from 'vitest'
import { REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.ts'
import { spawnServer } from '../support/server.ts'
import { conformance } from './suite.ts'

beforeAll(() => requireRedis())

conformance({
  name: 'node + redis',
  caps: { slowConsumer: true, gracefulShutdown: true, idleLiveness: true, utf8Validation: true, closeCodeWhileClientSends: true },
  start: (env) =>
    spawnServer({
      cmd: process.execPath,
      args: ['--import', 'tsx', 'adapters/node/server.ts'],
      env: { ...env, REDIS_URL, REDIS_PREFIX: uniquePrefix('conf') },
    }),
})
