import { spawnServer } from '../support/server.ts'
import { conformance } from './suite.ts'

conformance({
  name: 'node',
  caps: { slowConsumer: true, gracefulShutdown: true, invalidUtf8Closes1007: true, closeCodeWhileClientSends: true },
  start: (env) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node.ts'], env }),
})
