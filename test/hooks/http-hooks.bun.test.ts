import { spawnServer } from '../support/server.ts'
import { httpHookScenarios } from './http-hooks.ts'

httpHookScenarios('bun', (env) => spawnServer({ cmd: 'node_modules/.bin/bun', args: ['run', 'adapters/bun/server.ts'], env, timeoutMs: 60000 }))
