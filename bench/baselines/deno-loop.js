// Baseline: the classic chat loop on bare Deno.upgradeWebSocket: every message to every socket, one
// send each. JS, not TS: it runs on Deno only and stays out of the Node type-check.
const sockets = new Set()
Deno.serve(
  {
    port: Number(Deno.env.get('PORT') ?? 0),
    hostname: Deno.env.get('HOST') ?? '127.0.0.1',
    onListen: ({ port }) => console.log(`deno loop listening on http://127.0.0.1:${port}`),
  },
  (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req)
    socket.onopen = () => sockets.add(socket)
    socket.onclose = () => sockets.delete(socket)
    socket.onmessage = (e) => {
      for (const s of sockets) if (s.readyState === WebSocket.OPEN) s.send(e.data)
    }
    return response
  },
)
Deno.addSignalListener('SIGTERM', () => Deno.exit(0))
