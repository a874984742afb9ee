// The bare runtime, for bench/idle-memory.ts --bare: an echo server on Deno.upgradeWebSocket, no Hono, no roomcast.
let connections = 0
Deno.serve(
  {
    port: Number(Deno.env.get('PORT') ?? 0),
    hostname: Deno.env.get('HOST') ?? '127.0.0.1',
    onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`),
  },
  (req) => {
    if (req.headers.get('upgrade') !== 'websocket') return Response.json({ connections })
    const { socket, response } = Deno.upgradeWebSocket(req)
    socket.onopen = () => connections++
    socket.onclose = () => connections--
    socket.onmessage = (e) => socket.send(e.data)
    return response
  },
)
Deno.addSignalListener('SIGTERM', () => Deno.exit(0))
