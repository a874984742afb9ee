import { spawnServer } from '../support/server.ts'
import { httpHookScenarios } from './http-hooks.ts'

httpHookScenarios('node', (env) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'], env }))
