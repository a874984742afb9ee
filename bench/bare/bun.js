// The bare runtime, for bench/idle-memory.ts --bare: an echo server on Bun.serve, no Hono, no roomcast.
let connections = 0
const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: process.env.HOST ?? '127.0.0.1',
  fetch(req, server) {
    if (req.headers.get('upgrade') !== 'websocket') return Response.json({ connections })
    return server.upgrade(req, { data: {} }) ? undefined : new Response('upgrade failed', { status: 400 })
  },
  websocket: {
    open: () => connections++,
    close: () => connections--,
    message: (ws, message) => ws.send(message),
  },
})
console.log(`listening on http://127.0.0.1:${server.port}`)
process.on('SIGTERM', () => process.exit(0))
