/** The exposition writer, read back by a strict parser of the text format's rules (test/support/prometheus.ts). */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Counter, Gauge, Histogram, Metrics, Registry, formatValue, writeExposition } from '../../src/index.ts'
import { parseExposition, sampleValue } from '../support/prometheus.ts'

describe('writeExposition', () => {
  it('writes HELP and TYPE once per family, then samples a parser reads back', () => {
    const r = new Registry()
    const c = r.add(new Counter('demo_events_total', 'Events seen', 'kind', ['a', 'b']))
    c.add('a', 3)
    c.add('c')
    const plain = r.add(new Counter('demo_plain_total', 'No labels'))
    plain.inc(7)
    r.add(new Gauge('demo_level', 'A level', () => 2.5))
    r.add(
      new Gauge(
        'demo_by_mode',
        'By mode',
        () =>
          [
            ['x', 1],
            ['y', 0],
          ] as [string, number][],
        'mode',
      ),
    )
    const text = r.render()
    const f = parseExposition(text)
    expect(f.get('demo_events_total')).toMatchObject({ help: 'Events seen', type: 'counter' })
    expect(sampleValue(f, 'demo_events_total', { kind: 'a' })).toBe(3)
    expect(sampleValue(f, 'demo_events_total', { kind: 'b' })).toBe(0)
    expect(sampleValue(f, 'demo_events_total', { kind: 'c' })).toBe(1)
    expect(sampleValue(f, 'demo_plain_total')).toBe(7)
    expect(sampleValue(f, 'demo_level')).toBe(2.5)
    expect(sampleValue(f, 'demo_by_mode', { mode: 'x' })).toBe(1)
    expect(text.match(/^# TYPE demo_events_total /gm)).toHaveLength(1)
    expect(text.endsWith('\n')).toBe(true)
  })

  it('escapes backslash, double quote and newline in label values, and backslash and newline in HELP', () => {
    const nasty = 'a\\b"c\nd'
    const text = writeExposition([{ name: 'demo', help: 'line one\nback\\slash', type: 'gauge', samples: [{ labels: { v: nasty }, value: 1 }] }])
    expect(text).toContain('demo{v="a\\\\b\\"c\\nd"} 1\n')
    expect(text).toContain('# HELP demo line one\\nback\\\\slash\n')
    const f = parseExposition(text)
    expect(f.get('demo')?.help).toBe('line one\nback\\slash')
    expect(sampleValue(f, 'demo', { v: nasty })).toBe(1)
  })

  it('round-trips any label value through escaping', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (v) => {
        const text = writeExposition([{ name: 'x', help: v, type: 'counter', samples: [{ labels: { l: v }, value: 1 }] }])
        const f = parseExposition(text)
        // The format drops blanks before a docstring, so only the label value must survive those.
        return sampleValue(f, 'x', { l: v }) === 1 && f.get('x')?.help === v.replace(/^[ \t]+/, '')
      }),
    )
  })

  it('writes histograms as cumulative _bucket{le} lines ending in +Inf, with _sum and _count', () => {
    const r = new Registry()
    const h = r.add(new Histogram('demo_seconds', 'Durations', [0.1, 0.01, 1]))
    for (const v of [0.005, 0.01, 0.05, 0.5, 2, 0.5]) h.observe(v)
    const byCmd = r.add(new Histogram('demo_cmd_seconds', 'By command', [0.1], 'command'))
    byCmd.observeFor('get', 0.05)
    byCmd.observeFor('set', 0.5)
    const text = r.render()
    const f = parseExposition(text)
    const le = (v: string) => sampleValue(f, 'demo_seconds_bucket', { le: v })
    // An observation equal to a bound counts in that bucket (le is "less or equal").
    expect([le('0.01'), le('0.1'), le('1'), le('+Inf')]).toEqual([2, 3, 5, 6])
    expect(sampleValue(f, 'demo_seconds_count')).toBe(6)
    expect(sampleValue(f, 'demo_seconds_sum')).toBeCloseTo(3.065, 10)
    expect(sampleValue(f, 'demo_cmd_seconds_bucket', { command: 'get', le: '0.1' })).toBe(1)
    expect(sampleValue(f, 'demo_cmd_seconds_bucket', { command: 'set', le: '0.1' })).toBe(0)
    expect(sampleValue(f, 'demo_cmd_seconds_count', { command: 'set' })).toBe(1)
    // le comes after the histogram's own label.
    expect(text).toContain('demo_cmd_seconds_bucket{command="get",le="+Inf"} 1\n')
  })

  it('formats values as Go parses them', () => {
    expect([0, 1, 1.5, 1e21, -2, Infinity, -Infinity, NaN].map(formatValue)).toEqual(['0', '1', '1.5', '1e+21', '-2', '+Inf', '-Inf', 'NaN'])
  })

  it('refuses names the format does not allow', () => {
    expect(() => new Counter('9lives', 'x')).toThrow(/metric name/)
    expect(() => new Counter('ok_total', 'x', 'bad-label')).toThrow(/label name/)
    expect(() => new Counter('ok_total', 'x', '__reserved')).toThrow(/label name/)
    expect(() => new Histogram('ok_seconds', 'x', [1], 'le')).toThrow(/label name/)
    const r = new Registry()
    r.add(new Counter('twice_total', 'x'))
    expect(() => r.add(new Counter('twice_total', 'x'))).toThrow(/twice/)
  })
})

describe('the strict parser the tests read with', () => {
  // A parser that accepted anything would make every test above pass: show it refuses what the format forbids.
  it.each([
    ['an unescaped quote', 'x{l="a"b"} 1\n'],
    ['an unknown escape', 'x{l="a\\tb"} 1\n'],
    ['a bad metric name', '1x 1\n'],
    ['a bad value', 'x one\n'],
    ['no final newline', 'x 1'],
    ['a TYPE after samples', 'x 1\n# TYPE x counter\n'],
    ['a family in two groups', 'x 1\ny 1\nx{a="b"} 2\n'],
    ['a duplicate series', 'x{a="1"} 1\nx{a="1"} 2\n'],
    ['a negative counter', '# TYPE x counter\nx -1\n'],
    ['buckets that are not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['+Inf that is not _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'],
    ['no _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseExposition(text)).toThrow()
  })
})

describe('Metrics', () => {
  it("renders every one of roomcast's families, parseable, before anything happened", () => {
    const m = new Metrics()
    m.publishSeconds.observe(0.001)
    m.backendCommandSeconds.observeFor('append', 0.002)
    const f = parseExposition(m.render())
    expect([...f.keys()]).toEqual([
      'roomcast_connections',
      'roomcast_rooms',
      'roomcast_upgrades_total',
      'roomcast_http_refusals_total',
      'roomcast_messages_published_total',
      'roomcast_deliveries_total',
      'roomcast_bytes_sent_total',
      'roomcast_bytes_received_total',
      'roomcast_frames_refused_total',
      'roomcast_closes_total',
      'roomcast_publish_seconds',
      'roomcast_fanout_seconds',
      'roomcast_history_bytes',
      'roomcast_backend_up',
      'roomcast_backend_command_seconds',
      'roomcast_event_loop_lag_seconds',
    ])
    for (const fam of f.values()) expect(fam.help?.length, fam.name).toBeGreaterThan(0)
    expect(sampleValue(f, 'roomcast_upgrades_total', { result: 'accepted' })).toBe(0)
    expect(sampleValue(f, 'roomcast_closes_total', { code: 'flooding' })).toBe(0)
    expect(sampleValue(f, 'roomcast_backend_up', { backend: 'memory' })).toBe(1)
    expect(sampleValue(f, 'roomcast_backend_command_seconds_count', { command: 'append' })).toBe(1)
  })

  it('reads the backend gauge from the health it watches', () => {
    const m = new Metrics()
    let ready = false
    m.watchBackend(() => ({ ready, backend: 'redis' }))
    expect(sampleValue(parseExposition(m.render()), 'roomcast_backend_up', { backend: 'redis' })).toBe(0)
    ready = true
    expect(sampleValue(parseExposition(m.render()), 'roomcast_backend_up', { backend: 'redis' })).toBe(1)
  })
})
