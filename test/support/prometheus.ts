/**
 * A strict reader of the Prometheus text exposition format 0.0.4, written from the format's rules
 * (not from roomcast's writer): it throws on anything a Prometheus server would reject or misread.
 */

export interface ParsedSample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface ParsedFamily {
  name: string
  help?: string
  type?: string
  samples: ParsedSample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
// Go's strconv.ParseFloat, which Prometheus uses: decimal or exponent notation, Inf and NaN spelled out.
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|[Ii]nf(?:inity)?|NaN)$/

function parseFloatGo(text: string, line: string): number {
  if (!FLOAT.test(text)) throw new Error(`bad value "${text}" in: ${line}`)
  if (/^[+]?[Ii]nf/.test(text)) return Infinity
  if (/^-[Ii]nf/.test(text)) return -Infinity
  if (text === 'NaN') return NaN
  return Number(text)
}

/** HELP text: only `\\` and `\n` are escapes. */
function unescapeHelp(s: string, line: string): string {
  return s.replace(/\\(.?)/g, (_m, c: string) => {
    if (c === '\\') return '\\'
    if (c === 'n') return '\n'
    throw new Error(`bad escape in HELP: ${line}`)
  })
}

/** `{name="value",...}` from position `i` of `line`; returns the labels and the position after `}`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {}
  let i = start + 1
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 }
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))
    if (nameMatch === null) throw new Error(`bad label name at ${i}: ${line}`)
    const name = nameMatch[0]
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`reserved or bad label name ${name}: ${line}`)
    if (Object.hasOwn(labels, name)) throw new Error(`duplicate label ${name}: ${line}`)
    i += name.length
    if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`expected =" after ${name}: ${line}`)
    i += 2
    let value = ''
    for (;;) {
      const c = line[i]
      if (c === undefined) throw new Error(`unterminated label value: ${line}`)
      if (c === '"') break
      if (c === '\\') {
        const e = line[i + 1]
        if (e === '\\') value += '\\'
        else if (e === '"') value += '"'
        else if (e === 'n') value += '\n'
        else throw new Error(`bad escape \\${e} in label value: ${line}`)
        i += 2
      } else {
        value += c
        i++
      }
    }
    labels[name] = value
    i++
    if (line[i] === ',') i++
    else if (line[i] !== '}') throw new Error(`expected , or } after label ${name}: ${line}`)
  }
}

/** The family a sample name belongs to, given the declared types. */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length)
      const t = types.get(base)
      if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base
    }
  }
  return name
}

/** Parse an exposition, checking the format's rules; throws with the offending line. */
export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the last line must end with a newline')
  const families = new Map<string, ParsedFamily>()
  const types = new Map<string, string>()
  const finished = new Set<string>()
  const series = new Set<string>()
  let current: string | undefined
  const family = (name: string) => {
    let f = families.get(name)
    if (f === undefined) {
      f = { name, samples: [] }
      families.set(name, f)
    }
    return f
  }
  const enter = (name: string, line: string) => {
    if (current === name) return
    if (finished.has(name)) throw new Error(`lines of ${name} are not one group: ${line}`)
    if (current !== undefined) finished.add(current)
    current = name
  }
  for (const line of text.split('\n').slice(0, -1)) {
    if (line === '') continue
    if (line.startsWith('#')) {
      // Lines end only at \n: \r and U+2028 are text (hence the s flag). Blanks before the docstring are not part of it.
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+([^ \t]+)(?:[ \t]+(.*))?$/s.exec(line)
      if (m === null) continue // a comment
      const [, kind, name = '', rest = ''] = m
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${name}: ${line}`)
      enter(name, line)
      const f = family(name)
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP for ${name}`)
        f.help = unescapeHelp(rest, line)
      } else {
        if (f.type !== undefined) throw new Error(`second TYPE for ${name}`)
        if (f.samples.length > 0) throw new Error(`TYPE for ${name} after its samples`)
        if (!TYPES.has(rest.trim())) throw new Error(`unknown type ${rest}: ${line}`)
        f.type = rest.trim()
        types.set(name, f.type)
      }
      continue
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)
    if (nameMatch === null) throw new Error(`bad sample line: ${line}`)
    const name = nameMatch[0]
    let i = name.length
    let labels: Record<string, string> = {}
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i))
    const rest = line.slice(i)
    const vm = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?$/.exec(rest)
    if (vm === null) throw new Error(`bad value part "${rest}": ${line}`)
    const value = parseFloatGo(vm[1] as string, line)
    const base = familyOf(name, types)
    enter(base, line)
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (series.has(key)) throw new Error(`duplicate series: ${line}`)
    series.add(key)
    family(base).samples.push({ name, labels, value })
  }
  for (const f of families.values()) check(f)
  return families
}

function check(f: ParsedFamily): void {
  if (f.type === 'counter') {
    for (const s of f.samples) if (!(s.value >= 0)) throw new Error(`counter ${s.name} is ${s.value}`)
  }
  if (f.type !== 'histogram') return
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    let g = groups.get(key)
    if (g === undefined) {
      g = { buckets: [] }
      groups.set(key, g)
    }
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${s.name} without le`)
      g.buckets.push([parseFloatGo(le, s.name), s.value])
    } else if (s.name === `${f.name}_sum`) g.sum = s.value
    else if (s.name === `${f.name}_count`) g.count = s.value
    else throw new Error(`${s.name} does not belong to histogram ${f.name}`)
  }
  for (const [key, g] of groups) {
    if (g.sum === undefined || g.count === undefined) throw new Error(`histogram ${f.name}${key} lacks _sum or _count`)
    if (g.buckets.length === 0) throw new Error(`histogram ${f.name}${key} has no buckets`)
    for (let i = 1; i < g.buckets.length; i++) {
      const [le0, v0] = g.buckets[i - 1] as [number, number]
      const [le1, v1] = g.buckets[i] as [number, number]
      if (!(le1 > le0)) throw new Error(`histogram ${f.name}${key}: buckets not in increasing le`)
      if (v1 < v0) throw new Error(`histogram ${f.name}${key}: buckets not cumulative`)
    }
    const last = g.buckets[g.buckets.length - 1] as [number, number]
    if (last[0] !== Infinity) throw new Error(`histogram ${f.name}${key} has no +Inf bucket`)
    if (last[1] !== g.count) throw new Error(`histogram ${f.name}${key}: +Inf bucket ${last[1]} is not _count ${g.count}`)
  }
}

/** The value of one series, or undefined. */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue
      const keys = Object.keys(s.labels)
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value
    }
  }
  return undefined
}
