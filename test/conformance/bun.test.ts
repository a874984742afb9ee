import { spawnServer } from '../support/server.ts'
import { conformance } from './suite.ts'

conformance({
  name: 'bun',
  caps: {
    slowConsumer: true,
    gracefulShutdown: true,
    idleLiveness: true,
    utf8Validation: true,
    closeCodeWhileClientSends: true,
    // uWebSockets refuses a frame past maxPayloadLength from its header with its own reason ("Received too big
    // message") before any of our code runs. adapters/bun/index.ts sets that 64 KiB past MAX_FRAME_BYTES, so a frame
    // just over the limit reaches the core and gets too_large; one further over keeps Bun's reason.
    tooLargeReasonAtAnySize: false,
  },
  // Exactly what a user runs (`bun run adapters/bun/server.ts`), with the binary `npm install` put in node_modules.
  start: (env) => spawnServer({ cmd: 'node_modules/.bin/bun', args: ['run', 'adapters/bun/server.ts'], env, timeoutMs: 60000 }),
})
