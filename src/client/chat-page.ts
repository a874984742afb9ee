/** The chat page served at `/`: json mode, room from `?room=`, all user text rendered with textContent. */
export const chatPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>roomcast</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; display: flex; flex-direction: column; height: 100vh; }
  header { padding: .5rem 1rem; background: #222; color: #eee; display: flex; gap: 1rem; flex-wrap: wrap; }
  #log { flex: 1; overflow-y: auto; padding: .5rem 1rem; margin: 0; list-style: none; }
  #log li { padding: .15rem 0; word-break: break-word; }
  form { display: flex; gap: .5rem; padding: .5rem 1rem; border-top: 1px solid #ccc; }
  #text { flex: 1; min-width: 0; }
</style>
</head>
<body>
<header><strong id="room"></strong><span id="state">connecting</span><span id="count"></span></header>
<ul id="log"></ul>
<form id="form"><input id="name" placeholder="name" size="8"><input id="text" placeholder="message" autocomplete="off"><button>Send</button></form>
<script>
const room = new URLSearchParams(location.search).get('room') || 'lobby'
const $ = (id) => document.getElementById(id)
$('room').textContent = '#' + room
$('name').value = localStorage.getItem('roomcast.name') || 'guest' + Math.floor(Math.random() * 1000)
let ws, seq = 0, epoch = ''
function show(text) {
  const li = document.createElement('li')
  li.textContent = text
  $('log').appendChild(li)
  li.scrollIntoView()
}
function connect() {
  const q = new URLSearchParams()
  if (epoch) { q.set('since', seq); q.set('epoch', epoch) }
  const path = room === 'lobby' ? '/' : '/rooms/' + encodeURIComponent(room)
  ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path + (epoch ? '?' + q : ''), 'roomcast.v1')
  ws.onmessage = (e) => {
    const f = JSON.parse(e.data)
    if (f.type === 'welcome') { epoch = f.epoch; seq = f.resumed ? seq : f.seq; $('state').textContent = 'connected' }
    else if (f.type === 'message') {
      if (f.seq <= seq) return
      seq = f.seq
      const d = f.data
      show(d && typeof d === 'object' && 'text' in d ? (d.name || '?') + ': ' + d.text : String(typeof d === 'string' ? d : JSON.stringify(d)))
    } else if (f.type === 'ack') seq = Math.max(seq, f.seq)
    else if (f.type === 'presence') $('count').textContent = f.connections + ' here'
    else if (f.type === 'error') show('error: ' + f.message)
  }
  ws.onclose = () => { $('state').textContent = 'reconnecting'; setTimeout(connect, 1000) }
}
$('form').onsubmit = (e) => {
  e.preventDefault()
  const text = $('text').value
  if (!text || ws.readyState !== 1) return
  localStorage.setItem('roomcast.name', $('name').value)
  const data = { name: $('name').value, text }
  ws.send(JSON.stringify({ type: 'publish', data, id: String(Date.now()) }))
  show(data.name + ': ' + text)
  $('text').value = ''
}
connect()
</script>
</body>
</html>
`
