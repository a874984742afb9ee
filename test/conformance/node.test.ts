import { spawnServer } from '../support/server.ts'
import { conformance } from './suite.ts'

conformance({
  name: 'node',
  caps: { slowConsumer: true, gracefulShutdown: true, idleLiveness: true, utf8Validation: true, closeCodeWhileClientSends: true },
  start: (env) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'], env }),
})
