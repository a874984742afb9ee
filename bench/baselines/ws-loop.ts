/**
 * Baseline: the classic ws chat server, unchanged in substance. Every message
 * goes to every client with one ws.send (one socket write) per recipient.
 */
import { WebSocket, WebSocketServer } from 'ws'

const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })

wss.on('connection', (ws) => {
  ws.on('error', console.error)
  ws.on('message', (data, isBinary) => {
    wss.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary })
    })
  })
})

wss.on('listening', () => {
  const { port } = wss.address() as { port: number }
  console.log(`ws loop listening on http://127.0.0.1:${port}`)
})
