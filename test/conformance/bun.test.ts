import { spawnServer } from '../support/server.ts'
import { conformance } from './suite.ts'

conformance({
  name: 'bun',
  caps: { slowConsumer: true, gracefulShutdown: true, idleLiveness: true, utf8Validation: true, closeCodeWhileClientSends: true },
  // Exactly what a user runs (`bun run adapters/bun/server.ts`), with the binary `npm install` put in node_modules.
  start: (env) => spawnServer({ cmd: 'node_modules/.bin/bun', args: ['run', 'adapters/bun/server.ts'], env, timeoutMs: 60000 }),
})
