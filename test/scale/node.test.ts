import { spawnServer } from '../support/server.ts'
import { faultScenarios } from './fault.ts'
import { scaleOut } from './suite.ts'

const node = (env: Record<string, string>) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'], env })

scaleOut('node + node', node, node)
faultScenarios('node + node', node, node)
