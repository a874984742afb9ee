/** The scale-out scenarios with Node instances, and Redis going away under Node. */
import { faultScenarios } from './fault.ts'
import { node } from './runtimes.ts'
import { scaleOut } from './suite.ts'

scaleOut('node + node', node, node)
faultScenarios('node + node', node, node)
