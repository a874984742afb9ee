/**
 * The admin dashboard's script (bundled into /client/dashboard.js): asks for
 * ADMIN_TOKEN, keeps it in sessionStorage (gone with the tab), and polls
 * `GET /admin/stats` with it as a bearer, drawing the figures, three SVG line
 * charts and the tables. Every value goes in with textContent.
 */
import type { AdminStats, SeriesPoint } from '../wire/admin.ts'
import { areaPath, chartPoints, linePath, niceMax } from './chart.ts'

const TOKEN_KEY = 'roomcast.adminToken'
const POLL_MS = 1000
const SVG = 'http://www.w3.org/2000/svg'
const W = 300
const H = 100

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const login = $<HTMLFormElement>('login')
const main = $('main')
const tokenInput = $<HTMLInputElement>('token')
let timer: ReturnType<typeof setTimeout> | undefined

login.addEventListener('submit', (e) => {
  e.preventDefault()
  const token = tokenInput.value.trim()
  if (token === '') return
  sessionStorage.setItem(TOKEN_KEY, token)
  tokenInput.value = ''
  void poll()
})
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY)
  ask('')
})

/** Show the token form (with why, if there is a reason) and stop polling. */
function ask(why: string): void {
  clearTimeout(timer)
  main.hidden = true
  $('forget').hidden = true
  login.hidden = false
  $('login-error').textContent = why
  tokenInput.focus()
}

async function poll(): Promise<void> {
  clearTimeout(timer)
  const token = sessionStorage.getItem(TOKEN_KEY)
  if (token === null) return ask('')
  let res: Response
  try {
    res = await fetch('admin/stats', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' })
  } catch (err) {
    problem(`cannot reach the server: ${String(err)}`)
    timer = setTimeout(poll, POLL_MS * 3)
    return
  }
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY)
    return ask('That token was not accepted.')
  }
  if (!res.ok) problem(`GET /admin/stats answered ${res.status} ${res.headers.get('x-roomcast-error') ?? ''}`)
  else {
    problem('')
    render((await res.json()) as AdminStats)
  }
  timer = setTimeout(poll, POLL_MS)
}

function problem(text: string): void {
  const el = $('problem')
  el.textContent = text
  el.hidden = text === ''
}

function render(s: AdminStats): void {
  login.hidden = true
  main.hidden = false
  $('forget').hidden = false
  $('connections').textContent = fmt(s.connections)
  $('rooms').textContent = fmt(s.rooms)
  $('mps').textContent = fmt(s.messagesPerSecond)
  $('dps').textContent = fmt(s.deliveriesPerSecond)
  const backend = $('backend')
  backend.textContent = s.backend.ready ? s.backend.name : `${s.backend.name}: down`
  backend.dataset.ready = String(s.backend.ready)
  backend.title = s.backend.detail ?? ''
  $('updated').textContent = `updated ${new Date(s.at).toLocaleTimeString()}`
  const points = s.series.points
  chart('connections', points, (p) => p.connections)
  chart('messages', points, (p) => p.messagesPerSecond)
  chart('deliveries', points, (p) => p.deliveriesPerSecond)
  rows(
    'busiest',
    s.busiest.map((r) => [r.room, fmt(r.connections), fmt(r.messagesPerSecond), fmt(r.seq), bytes(r.historyBytes)]),
    'no rooms open',
  )
  rows('refusals', counts(s.refusals), 'none')
  rows('closes', counts(s.closes), 'none')
}

/** Redraw one chart: a grid line at half height, the area under the line, and the line. */
function chart(name: string, points: readonly SeriesPoint[], value: (p: SeriesPoint) => number): void {
  const values = points.map(value)
  const max = niceMax(Math.max(0, ...values))
  const xy = chartPoints(values, W, H, max)
  const svg = $(`chart-${name}`) as unknown as SVGSVGElement
  svg.replaceChildren(
    el('line', { class: 'grid', x1: '0', y1: String(H / 2), x2: String(W), y2: String(H / 2) }),
    el('path', { class: 'area', d: areaPath(xy, H) }),
    el('path', { class: 'line', d: linePath(xy) }),
  )
  svg.dataset.points = String(xy.length)
  const first = points[0]
  const last = points[points.length - 1]
  const span = first === undefined || last === undefined ? '' : `last ${duration(last.t - first.t)} · `
  $(`max-${name}`).textContent = `${span}max ${fmt(max)}`
}

function el(tag: string, attrs: Record<string, string>): SVGElement {
  const e = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  return e
}

/** Replace a table's body with `cells`, or one row saying `empty`. */
function rows(id: string, cells: string[][], empty: string): void {
  const body = $(id).querySelector('tbody') as HTMLTableSectionElement
  const trs = cells.map((row) => {
    const tr = document.createElement('tr')
    for (const text of row) {
      const td = document.createElement('td')
      td.textContent = text
      tr.append(td)
    }
    return tr
  })
  if (trs.length === 0) {
    const tr = document.createElement('tr')
    const td = document.createElement('td')
    td.className = 'empty'
    td.colSpan = 5
    td.textContent = empty
    tr.append(td)
    trs.push(tr)
  }
  body.replaceChildren(...trs)
}

/** Codes by count, largest first. */
function counts(byCode: Record<string, number>): string[][] {
  return Object.entries(byCode)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => [code, fmt(n)])
}

function fmt(n: number): string {
  return n.toLocaleString('en', { maximumFractionDigits: n < 10 ? 2 : 1 })
}

/** A span as people say it: 45 s, 3 min. */
function duration(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000))
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

void poll()
