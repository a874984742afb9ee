/** The scale-out scenarios with Bun instances (ioredis on Bun, fan-out through Bun's topics): Bun with Bun, Bun with Node, and Redis going away under Bun. */
import { faultScenarios } from './fault.ts'
import { bun, node } from './runtimes.ts'
import { scaleOut } from './suite.ts'

scaleOut('bun + bun', bun, bun)
scaleOut('bun + node', bun, node)
faultScenarios('bun + bun', bun, bun)
