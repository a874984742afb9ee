// The bare runtime, for bench/idle-memory.ts --bare: an echo server on ws, no Hono, no roomcast.
import http from 'node:http'
import { WebSocketServer } from 'ws'

const server = http.createServer((_req, res) => {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ connections: wss.clients.size }))
})
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })))
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
process.on('SIGTERM', () => process.exit(0))
