import { spawnServer } from '../support/server.ts'
import { conformance } from './suite.ts'

conformance({
  name: 'deno',
  caps: {
    slowConsumer: true,
    gracefulShutdown: true,
    idleLiveness: true,
    // Deno checks UTF-8 below JavaScript and, on a bad text frame, drops the TCP connection without a close
    // frame (the socket only reports an error event): the client sees 1006, and no code of ours runs to send 1007.
    utf8Validation: false,
    // Once Deno's server socket has sent its close frame, the next frame from the client makes it close the
    // TCP connection at once (ext/websocket/01_websocket.js: "close the connection if read was cancelled"),
    // and unread client data turns that into a reset that can discard the close frame: the client sees 1006.
    closeCodeWhileClientSends: false,
    // Deno.serve has no header read timeout (denoland/deno#3515): a request head that never ends stays open.
    closesSlowHandshakes: false,
  },
  // Exactly what a user runs (`deno task start`), with the binary `npm install` put in node_modules.
  start: (env) => spawnServer({ cmd: 'node_modules/.bin/deno', args: ['task', 'start'], env, timeoutMs: 60000 }),
})
