// Baseline: bare Bun pub/sub (uWebSockets underneath). Every member subscribes to one topic and each
// message is published to it once; Bun writes it to every subscriber, batched per socket. JS, not TS:
// it runs on Bun only and stays out of the Node type-check.
const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: process.env.HOST ?? '127.0.0.1',
  fetch(req, server) {
    return server.upgrade(req) ? undefined : new Response('upgrade required', { status: 426 })
  },
  websocket: {
    perMessageDeflate: false,
    open(ws) {
      ws.subscribe('room')
    },
    message(_ws, message) {
      server.publish('room', message)
    },
  },
})
console.log(`bun pub/sub listening on http://127.0.0.1:${server.port}`)
process.on('SIGTERM', () => process.exit(0))
