/**
 * The many-rooms chat page's script (bundled into /client/chat-rooms.js): one protocol v2 connection, a room
 * list (join, leave, unread counts) and who is online in the room shown. Rooms come from `?rooms=a,b`, a token
 * from `?token=` (its `sub` is the name shown). Every piece of user text goes in with textContent.
 */
import { isRoomName } from '../wire/names.ts'
import type { Subscription } from './connection.ts'
import { RoomcastConnection } from './connection.ts'

interface RoomView {
  sub: Subscription
  lines: { from: string; text: string }[]
  unread: number
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const params = new URLSearchParams(location.search)
const token = params.get('token') || undefined
const conn = new RoomcastConnection({ url: new URL('..', location.href).href, token, initialDelayMs: 250, maxDelayMs: 5000 })
const rooms = new Map<string, RoomView>()
let current: string | undefined
let me: string | undefined

conn.on('state', (s) => {
  $('state').dataset.state = s
  $('state').textContent = s === 'open' ? 'online' : s
})

function join(name: string): void {
  if (!isRoomName(name) || rooms.has(name)) return
  const sub = conn.subscribe(name, { presence: true, since: 0 })
  const view: RoomView = { sub, lines: [], unread: 0 }
  rooms.set(name, view)
  sub.on('message', (m) => {
    const d = m.data as { text?: unknown }
    view.lines.push({ from: m.from ?? 'anonymous', text: typeof d?.text === 'string' ? d.text : JSON.stringify(m.data) })
    if (name !== current) view.unread++
    render()
  })
  sub.on('presence', () => render())
  sub.on('error', (e) => {
    view.lines.push({ from: 'roomcast', text: `${e.code}: ${e.message}` })
    render()
  })
  if (current === undefined) current = name
  render()
}

function leave(name: string): void {
  const view = rooms.get(name)
  if (view === undefined) return
  void view.sub.unsubscribe()
  rooms.delete(name)
  if (current === name) current = rooms.keys().next().value
  render()
}

function show(name: string): void {
  current = name
  const view = rooms.get(name)
  if (view !== undefined) view.unread = 0
  render()
}

function render(): void {
  const list = $('rooms')
  list.replaceChildren()
  for (const [name, view] of rooms) {
    const li = document.createElement('li')
    li.dataset.room = name
    li.setAttribute('aria-current', String(name === current))
    const label = document.createElement('span')
    label.className = 'name'
    label.textContent = '#' + name
    li.append(label)
    if (view.unread > 0) {
      const badge = document.createElement('span')
      badge.className = 'unread'
      badge.textContent = String(view.unread)
      li.append(badge)
    }
    const x = document.createElement('button')
    x.className = 'leave'
    x.type = 'button'
    x.title = `leave #${name}`
    x.textContent = '×'
    x.addEventListener('click', (e) => {
      e.stopPropagation()
      leave(name)
    })
    li.append(x)
    li.addEventListener('click', () => show(name))
    list.append(li)
  }
  const view = current === undefined ? undefined : rooms.get(current)
  $('title').textContent = current === undefined ? 'roomcast' : '#' + current
  const log = $('log')
  log.replaceChildren()
  for (const l of view?.lines ?? []) {
    const li = document.createElement('li')
    li.className = 'msg'
    const b = document.createElement('b')
    b.textContent = l.from
    const t = document.createElement('span')
    t.className = 'text'
    t.textContent = l.text
    li.append(b, t)
    log.append(li)
  }
  log.scrollTop = log.scrollHeight
  const who = $('who')
  who.replaceChildren()
  const p = view?.sub.presence
  for (const [sub, n] of [...(p?.members ?? new Map<string, number>())].sort()) {
    const li = document.createElement('li')
    li.textContent = n > 1 ? `${sub} (${n})` : sub
    who.append(li)
  }
  $('count').textContent = p === undefined ? "who's online" : `who's online · ${p.connections}`
}

$('join').addEventListener('submit', (e) => {
  e.preventDefault()
  const input = $<HTMLInputElement>('room')
  join(input.value.trim())
  input.value = ''
})

$('form').addEventListener('submit', (e) => {
  e.preventDefault()
  const input = $<HTMLInputElement>('text')
  const view = current === undefined ? undefined : rooms.get(current)
  if (view === undefined || input.value === '') return
  const text = input.value
  input.value = ''
  // No echo of one's own message on v2: show it once the server acked it.
  view.sub.publish({ text }).then(
    () => {
      view.lines.push({ from: me ?? 'me', text })
      render()
    },
    (err: Error) => {
      view.lines.push({ from: 'roomcast', text: `not sent: ${err.message}` })
      render()
    },
  )
})

// The name shown for "me" is the token's sub, which the server names in its welcome; read it from the token.
if (token !== undefined) {
  try {
    const payload = JSON.parse(atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown }
    if (typeof payload.sub === 'string') me = payload.sub
  } catch {
    // not a readable JWT: the server will refuse it and say so
  }
}
$('me').textContent = me ?? ''
for (const name of (params.get('rooms') ?? 'lobby').split(',')) join(name.trim())
