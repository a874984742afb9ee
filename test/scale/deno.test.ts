/** The scale-out scenarios with Deno instances: Deno with Deno, Deno with Node, and Redis going away under Deno. */
import { spawnServer } from '../support/server.ts'
import { faultScenarios } from './fault.ts'
import { scaleOut } from './suite.ts'

// Exactly what a user runs (`deno task start`), with the binary `npm install` put in node_modules.
const deno = (env: Record<string, string>) => spawnServer({ cmd: 'node_modules/.bin/deno', args: ['task', 'start'], env, timeoutMs: 60000 })
const node = (env: Record<string, string>) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'], env })

scaleOut('deno + deno', deno, deno)
scaleOut('deno + node', deno, node)
faultScenarios('deno + deno', deno, deno)
