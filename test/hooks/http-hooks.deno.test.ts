import { spawnServer } from '../support/server.ts'
import { httpHookScenarios } from './http-hooks.ts'

httpHookScenarios('deno', (env) => spawnServer({ cmd: 'node_modules/.bin/deno', args: ['task', 'start'], env, timeoutMs: 60000 }))
