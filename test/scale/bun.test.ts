/** The scale-out scenarios with Bun instances (ioredis on Bun, fan-out through Bun's topics): Bun with Bun, Bun with Node, and Redis going away under Bun. */
import { spawnServer } from '../support/server.ts'
import { faultScenarios } from './fault.ts'
import { scaleOut } from './suite.ts'

// Exactly what a user runs (`bun run adapters/bun.ts`), with the binary `npm install` put in node_modules.
const bun = (env: Record<string, string>) => spawnServer({ cmd: 'node_modules/.bin/bun', args: ['run', 'adapters/bun.ts'], env, timeoutMs: 60000 })
const node = (env: Record<string, string>) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node.ts'], env })

scaleOut('bun + bun', bun, bun)
scaleOut('bun + node', bun, node)
faultScenarios('bun + bun', bun, bun)
