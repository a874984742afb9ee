/**
 * The chat page's script (bundled into /client/chat.js): the room from
 * `?room=`, a token from `?token=` or typed in when the server asks for one,
 * a display name, messages with sender and time, the member count (marked
 * stale while disconnected) and the connection state, with what is wrong
 * when the server refuses. Every piece of user text goes in with
 * textContent; no HTML from anyone, ever.
 */

import type { MessageFrame } from '../wire/frames.ts'
import { isRoomName } from '../wire/names.ts'
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
const countEl = $('count')
const tokenInput = $<HTMLInputElement>('token')

const params = new URLSearchParams(location.search)
const room = params.get('room') || undefined
/** The credential for the server, when it needs one: from `?token=`, or typed into the form it then shows. */
let token = params.get('token') || undefined
let roomName = room ?? 'lobby'
$('room').textContent = '#' + roomName
document.title = `#${roomName} · roomcast`
nameInput.value = load('roomcast.name') || `guest-${Math.floor(Math.random() * 1000)}`

/** Codes after which a message may have gone out; a replay of it would confirm it (see showMessage). */
const UNCONFIRMED = new Set(['connection_lost', 'outcome_unknown', 'timeout'])

/** My messages by mid, so an ack (or a replay of it) updates the line that is already shown. */
const mine = new Map<string, HTMLLIElement>()
/** The current client; replaced when the page connects again (with a new token, or after a terminal close). */
let client: RoomcastClient | undefined
/** When the shown member count was last heard from the server. */
let countAt = 0

if (room !== undefined && !isRoomName(room)) {
  // Said here, not by a refused connection: the page knows the rule and need not ask.
  showState({ state: 'closed' })
  const suggestion =
    room
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64) || 'lobby'
  problem(`“${room}” is not a room name: room names are 1 to 64 of A-Z a-z 0-9 _ . - (for example ?room=${suggestion}).`)
} else {
  connect()
}

/** Connect (again), resuming after what this page already shows. */
function connect(): void {
  const previous = client
  const c = new RoomcastClient({
    url: new URL('.', location.href).href,
    room,
    // On load: everything the room still holds. Again: what came after the last message shown.
    since: previous?.epoch === undefined ? 0 : previous.lastSeq,
    token,
    initialDelayMs: 250,
    maxDelayMs: 5000,
  })
  client = c
  void previous?.close()
  c.on('welcome', (w) => {
    roomName = w.room
    $('room').textContent = '#' + w.room
    document.title = `#${w.room} · roomcast`
  })
  c.on('state', showState)
  c.on('presence', (p) => {
    countEl.textContent = `${p.connections} online`
    delete countEl.dataset.stale
    countEl.title = ''
    countAt = Date.now()
  })
  c.on('message', showMessage)
  c.on('missed', (m) =>
    notice(m.restarted ? 'The server restarted; messages sent just before it may be missing.' : 'Some earlier messages are no longer available.'),
  )
  c.on('error', (e: RoomcastError) => notice(`error: ${e.code}`))
}

$<HTMLFormElement>('form').addEventListener('submit', (e) => {
  e.preventDefault()
  const text = textInput.value.trim()
  const name = nameInput.value.trim().slice(0, 32) || 'anonymous'
  if (!text || client === undefined) return
  save('roomcast.name', name)
  textInput.value = ''
  const data: ChatData = { name, text, mid: Math.random().toString(36).slice(2, 10) }
  const li = line(name, text, Date.now(), 'mine pending')
  status(li, client.state === 'open' ? 'sending…' : 'queued')
  mine.set(data.mid, li)
  // The client resends it until the server acks it (a lost connection, a backend that could not say), so this
  // settles once, with the seq everyone saw; only past the dedupe window can its outcome stay open.
  client.publish(data).then(
    () => sent(li),
    (err: RoomcastError) => {
      // A replay of it may have confirmed it meanwhile (see showMessage): then it was sent.
      if (!li.classList.contains('pending')) return
      li.classList.replace('pending', 'failed')
      status(li, UNCONFIRMED.has(err.code) ? 'not confirmed' : `not sent: ${err.code}`)
    },
  )
})

$<HTMLFormElement>('token-form').addEventListener('submit', (e) => {
  e.preventDefault()
  const typed = tokenInput.value.trim()
  if (!typed) return
  token = typed
  tokenInput.value = ''
  problem(undefined)
  connect()
})

$<HTMLFormElement>('retry-form').addEventListener('submit', (e) => {
  e.preventDefault()
  problem(undefined)
  connect()
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
  // Closed for good: nothing typed now could be sent (reconnecting, it is queued).
  for (const el of $('form').querySelectorAll<HTMLInputElement | HTMLButtonElement>('#text, button')) el.disabled = s.state === 'closed'
  const wait = s.delayMs === undefined ? '' : ` in ${seconds(s.delayMs)} s`
  stateEl.textContent = {
    connecting: wait ? `trying again${wait}…` : 'connecting…',
    open: 'online',
    reconnecting: `reconnecting${wait}…`,
    closed: 'offline',
  }[s.state]
  if (s.state !== 'open') staleCount()
  if (s.error !== undefined) explain(s.error, s)
  else if (s.state !== 'closed') problem(undefined)
}

/** Say what the server refused or closed the connection for, and offer what can help. */
function explain(err: RoomcastError, s: StateChange): void {
  const again = s.state === 'closed' ? '' : ` Trying again in ${seconds(s.delayMs ?? 0)} s.`
  switch (err.code) {
    case 'unauthorized':
      return problem(token === undefined ? `This server needs a token to join #${roomName}.` : `The server refused the token: ${err.message}.`, {
        token: true,
        hint: 'Paste one below, or open this page with ?token=… (whoever runs the server makes them, for example with npm run -s token -- --room NAME).',
      })
    case 'forbidden':
      return problem(`This token does not let you into #${roomName} (403 forbidden).`, { token: true, hint: 'Paste a token for this room below.' })
    case 'bad_origin':
      return problem(`This server does not accept pages from ${location.origin} (403 bad_origin; see ALLOWED_ORIGINS).`)
    case 'rate_limited':
      return problem(`Too many connection attempts from your address (429 rate_limited).${again}`)
    default: {
      // A refused upgrade has an HTTP status; a connection the server closed has a close code.
      const what = err.status === undefined ? `${s.code} ${err.code}` : `${err.status} ${err.code}`
      const lead = err.status === undefined ? 'Disconnected by the server' : 'The server cannot take you in right now'
      return problem(`${lead}: ${err.message} (${what}).${again}`, { retry: s.state === 'closed' })
    }
  }
}

/** Show a problem (undefined: there is none), with the token form or a button to connect again. */
function problem(text: string | undefined, offer: { token?: boolean; retry?: boolean; hint?: string } = {}): void {
  $('problem').hidden = text === undefined
  $('problem-text').textContent = text ?? ''
  $('problem-hint').hidden = offer.hint === undefined
  $('problem-hint').textContent = offer.hint ?? ''
  $('token-form').hidden = offer.token !== true
  $('retry-form').hidden = offer.retry !== true
  if (offer.token === true) tokenInput.focus()
}

/** While not connected, the member count is only what it was: say so, and since when. */
function staleCount(): void {
  if (countEl.textContent === '' || countEl.dataset.stale !== undefined) return
  countEl.dataset.stale = ''
  countEl.textContent += ` as of ${clock(countAt)}`
  countEl.title = 'not connected: the count may have changed since'
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000)
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
