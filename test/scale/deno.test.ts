/** The scale-out scenarios with Deno instances: Deno with Deno, Deno with Node, and Redis going away under Deno. */
import { faultScenarios } from './fault.ts'
import { deno, node } from './runtimes.ts'
import { scaleOut } from './suite.ts'

scaleOut('deno + deno', deno, deno)
scaleOut('deno + node', deno, node)
faultScenarios('deno + deno', deno, deno)
