/**
 * The chat page's script (bundled into /client/chat.js): the room from
 * `?room=`, a display name, messages with sender and time, the member count
 * and the connection state. Every piece of user text goes in with
 * textContent; no HTML from anyone, ever.
 */
import type { MessageFrame } from '../wire/frames.ts'
import type { RoomcastError, StateChange } from './client.ts'
import { RoomcastClient } from './client.ts'

/** What this page publishes; `mid` lets it recognise its own message in a replay after a lost ack. */
interface ChatData {
  name: string
  text: string
  mid: string
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const log = $<HTMLOListElement>('log')
const nameInput = $<HTMLInputElement>('name')
const textInput = $<HTMLInputElement>('text')
const stateEl = $('state')

const room = new URLSearchParams(location.search).get('room') || undefined
$('room').textContent = '#' + (room ?? 'lobby')
document.title = `#${room ?? 'lobby'} · roomcast`
nameInput.value = load('roomcast.name') || `guest-${Math.floor(Math.random() * 1000)}`

const client = new RoomcastClient({
  url: new URL('.', location.href).href,
  room,
  since: 0, // show what the room still holds on load
  initialDelayMs: 250,
  maxDelayMs: 5000,
})

/** My messages by mid, so an ack (or a replay of it) updates the line that is already shown. */
const mine = new Map<string, HTMLLIElement>()

client.on('welcome', (w) => {
  $('room').textContent = '#' + w.room
  document.title = `#${w.room} · roomcast`
})
client.on('state', showState)
client.on('presence', (p) => ($('count').textContent = `${p.connections} online`))
client.on('message', showMessage)
client.on('missed', (m) =>
  notice(m.restarted ? 'The server restarted; messages sent just before it may be missing.' : 'Some earlier messages are no longer available.'),
)
client.on('error', (e: RoomcastError) => notice(`error: ${e.code}`))

$<HTMLFormElement>('form').addEventListener('submit', (e) => {
  e.preventDefault()
  const text = textInput.value.trim()
  const name = nameInput.value.trim().slice(0, 32) || 'anonymous'
  if (!text) return
  save('roomcast.name', name)
  textInput.value = ''
  const data: ChatData = { name, text, mid: Math.random().toString(36).slice(2, 10) }
  const li = line(name, text, Date.now(), 'mine pending')
  status(li, client.state === 'open' ? 'sending…' : 'queued')
  mine.set(data.mid, li)
  client.publish(data).then(
    () => sent(li),
    (err: RoomcastError) => {
      li.classList.replace('pending', 'failed')
      // After a lost connection or a timeout it may have gone out; a replay of it would confirm it (see showMessage).
      status(li, err.code === 'connection_lost' || err.code === 'timeout' ? 'not confirmed' : `not sent: ${err.code}`)
    },
  )
})

function showMessage(m: MessageFrame): void {
  const d = m.data as Partial<ChatData> | string | null
  if (d !== null && typeof d === 'object' && typeof d.text === 'string') {
    const own = typeof d.mid === 'string' ? mine.get(d.mid) : undefined
    if (own !== undefined) return sent(own) // ours: the ack was lost, the message was not
    const name = typeof d.name === 'string' && d.name ? d.name.slice(0, 32) : 'anonymous'
    line(m.from !== undefined ? `${name} (${m.from})` : name, d.text, m.ts, '')
  } else if (m.binary) {
    line(m.from ?? 'anonymous', `[binary, ${Math.floor(((m.data as string).length * 3) / 4)} bytes]`, m.ts, '')
  } else {
    // The classic page (raw mode) sends plain text; anything else is shown as its JSON.
    line(m.from ?? 'anonymous', typeof d === 'string' ? d : JSON.stringify(d), m.ts, '')
  }
}

function showState(s: StateChange): void {
  stateEl.dataset.state = s.state
  const wait = s.delayMs === undefined ? '' : ` in ${Math.ceil(s.delayMs / 1000)} s`
  stateEl.textContent = { connecting: 'connecting…', open: 'online', reconnecting: `reconnecting${wait}…`, closed: 'offline' }[s.state]
}

/** Append one message line; every part is text. */
function line(sender: string, text: string, ts: number, cls: string): HTMLLIElement {
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 40
  const li = document.createElement('li')
  li.className = `msg ${cls}`.trim()
  const who = document.createElement('b')
  who.textContent = sender
  const when = document.createElement('time')
  when.dateTime = new Date(ts).toISOString()
  when.textContent = clock(ts)
  const body = document.createElement('span')
  body.className = 'text'
  body.textContent = text
  li.append(who, when, body)
  log.append(li)
  if (stick) li.scrollIntoView({ block: 'end' })
  return li
}

function notice(text: string): void {
  const li = document.createElement('li')
  li.className = 'notice'
  li.textContent = text
  log.append(li)
}

function sent(li: HTMLLIElement): void {
  li.classList.remove('pending', 'failed')
  li.querySelector('.status')?.remove()
}

function status(li: HTMLLIElement, text: string): void {
  let el = li.querySelector('.status')
  if (el === null) {
    el = document.createElement('small')
    el.className = 'status'
    li.append(el)
  }
  el.textContent = text
}

function clock(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}

// Storage can throw (privacy modes, sandboxed frames); the name is a nicety.
function load(key: string): string | null {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}
function save(key: string, value: string): void {
  try {
    localStorage.setItem(key, value)
  } catch {
    // Not kept; fine.
  }
}
