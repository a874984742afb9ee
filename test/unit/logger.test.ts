/** The logger (levels, formats, the per-kind budget), its settings, the refusal lines and the start-up configuration with secrets masked. */
import { describe, expect, it } from 'vitest'
import type { Level, LogFormat } from '../../src/index.ts'
import { ConfigError, Logger, MASK, Metrics, Ops, defaults, effectiveConfig, maskValue, readOpsSettings } from '../../src/index.ts'

function logger(level: Level, format: LogFormat = 'json', now = () => Date.UTC(2026, 0, 2, 3, 4, 5, 6)) {
  const lines: string[] = []
  return { log: new Logger({ level, format, write: (l) => lines.push(l), now }), lines }
}

describe('Logger', () => {
  it('writes one JSON object per line with time, level and msg first, and leaves out undefined fields', () => {
    const { log, lines } = logger('info')
    log.info('closed', { code: 'flooding', room: 'r', connectionId: undefined, close: 1008 })
    expect(lines).toHaveLength(1)
    expect(Object.entries(JSON.parse(lines[0] as string))).toEqual([
      ['time', '2026-01-02T03:04:05.006Z'],
      ['level', 'info'],
      ['msg', 'closed'],
      ['code', 'flooding'],
      ['room', 'r'],
      ['close', 1008],
    ])
  })

  it.each([
    ['error', ['error']],
    ['warn', ['error', 'warn']],
    ['info', ['error', 'warn', 'info']],
    ['debug', ['error', 'warn', 'info', 'debug']],
  ] as const)('at LOG_LEVEL=%s writes only %j', (level, written) => {
    const { log, lines } = logger(level)
    log.error('e')
    log.warn('w')
    log.info('i')
    log.debug('d')
    expect(lines.map((l) => JSON.parse(l).level)).toEqual(written)
    expect(['error', 'warn', 'info', 'debug'].filter((l) => log.enabled(l as Level))).toEqual(written)
  })

  it('writes start-up lines whatever the level, marked info', () => {
    const { log, lines } = logger('error')
    log.startup('roomcast listening on http://localhost:3000')
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'info', msg: 'roomcast listening on http://localhost:3000' })
  })

  it('writes text as time, level, message and key=value pairs, quoting values that are not one plain word', () => {
    const { log, lines } = logger('info', 'text')
    log.warn('closed', { code: 'flooding', room: 'r', reason: 'a "quoted" thing', n: 3, config: { A: 1 } })
    expect(lines[0]).toBe('2026-01-02T03:04:05.006Z WARN  closed code=flooding room=r reason="a \\"quoted\\" thing" n=3 config={"A":1}')
  })

  it('clips a long string field, so a client-chosen value cannot make a line huge', () => {
    const { log, lines } = logger('info')
    log.info('request refused', { path: `/${'a'.repeat(10_000)}` })
    expect((lines[0] as string).length).toBeLessThan(2200)
  })

  it('writes at most `burst` lines of a kind per second, then one line saying how many were suppressed', () => {
    let t = 1_000_000
    const lines: string[] = []
    const log = new Logger({ level: 'info', format: 'json', write: (l) => lines.push(l), now: () => t, burst: 3 })
    for (let i = 0; i < 10; i++) log.limited('close:slow_consumer', 'info', 'closed', { i })
    log.limited('close:flooding', 'warn', 'closed', { other: true })
    expect(lines.map((l) => JSON.parse(l).i ?? 'other')).toEqual([0, 1, 2, 'other'])
    expect(log.wouldWrite('close:slow_consumer', 'info')).toBe(false)
    t += 1000
    expect(log.wouldWrite('close:slow_consumer', 'info')).toBe(true)
    log.limited('close:slow_consumer', 'info', 'closed', { i: 10 })
    expect(lines.slice(4).map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'info', msg: 'similar lines suppressed', kind: 'close:slow_consumer', suppressed: 7 }),
      expect.objectContaining({ msg: 'closed', i: 10 }),
    ])
  })

  it('reports what it suppressed within about a second even if no further line of that kind comes', async () => {
    const lines: string[] = []
    const log = new Logger({ level: 'info', format: 'json', write: (l) => lines.push(l), burst: 1 })
    log.limited('k', 'info', 'x')
    log.limited('k', 'info', 'x')
    await new Promise((r) => setTimeout(r, 2100))
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['x', 'similar lines suppressed'])
  })
})

describe('readOpsSettings', () => {
  it('defaults to json unless stdout is a terminal, and to info', () => {
    expect(readOpsSettings({})).toEqual({ logFormat: 'json', logLevel: 'info' })
    expect(readOpsSettings({}, true)).toEqual({ logFormat: 'text', logLevel: 'info' })
    expect(readOpsSettings({ LOG_FORMAT: 'json' }, true).logFormat).toBe('json')
  })

  it('reads METRICS_TOKEN and METRICS_PORT', () => {
    expect(readOpsSettings({ METRICS_TOKEN: 'a-long-enough-token', METRICS_PORT: '9100', LOG_LEVEL: 'debug', LOG_FORMAT: 'text' })).toEqual({
      metricsToken: 'a-long-enough-token',
      metricsPort: 9100,
      logFormat: 'text',
      logLevel: 'debug',
    })
    expect(readOpsSettings({ METRICS_PORT: '0' }).metricsPort).toBe(0)
  })

  it.each([
    [{ LOG_FORMAT: 'xml' }, /LOG_FORMAT/],
    [{ LOG_LEVEL: 'trace' }, /LOG_LEVEL/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN/],
    [{ METRICS_PORT: '70000' }, /METRICS_PORT/],
    [{ METRICS_PORT: 'ninety' }, /METRICS_PORT/],
  ])('refuses %j with a ConfigError naming the variable', (env, name) => {
    expect(() => readOpsSettings(env)).toThrow(ConfigError)
    expect(() => readOpsSettings(env)).toThrow(name)
  })
})

describe('the start-up configuration', () => {
  it('lists every setting in force, defaults included, and masks every secret', () => {
    const env = {
      AUTH_SECRET: 'hs256-secret-0123456789-abcdefghijklmnop',
      PUBLISH_KEY: 'publish-key-0123456789',
      METRICS_TOKEN: 'metrics-token-0123456789',
      ADMIN_TOKEN: 'admin-token-0123456789',
      HOOK_SECRET: 'hook-secret-0123456789',
      REDIS_URL: 'redis://user:hunter2@127.0.0.1:6379/0',
      ALLOWED_ORIGINS: 'https://app.example.com',
    }
    const out = effectiveConfig(env, defaults, readOpsSettings(env), { port: 3000, hostname: '0.0.0.0' })
    expect(out).toMatchObject({
      HOST: '0.0.0.0',
      PORT: 3000,
      MAX_FRAME_BYTES: 65536,
      MAX_CONNECTIONS: 100000,
      ALLOWED_ORIGINS: 'https://app.example.com',
      AUTH_SECRET: MASK,
      PUBLISH_KEY: MASK,
      METRICS_TOKEN: MASK,
      ADMIN_TOKEN: MASK,
      HOOK_SECRET: MASK,
      REDIS_URL: `redis://user:${encodeURIComponent(MASK)}@127.0.0.1:6379/0`,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
    })
    const text = JSON.stringify(out)
    for (const secret of ['hs256-secret', 'publish-key', 'metrics-token', 'admin-token', 'hook-secret', 'hunter2']) expect(text).not.toContain(secret)
  })

  it('masks by name, and a password in any URL', () => {
    expect(maskValue('SOME_API_KEY', 'k')).toBe(MASK)
    expect(maskValue('UPSTREAM_PASSWORD', 'p')).toBe(MASK)
    expect(maskValue('AUTH_JWKS_URL', 'https://u:pw@keys.example.com/jwks')).not.toContain('pw@')
    expect(maskValue('AUTH_JWKS_URL', 'https://keys.example.com/jwks')).toBe('https://keys.example.com/jwks')
    expect(maskValue('DEFAULT_ROOM', 'lobby')).toBe('lobby')
  })
})

describe('refused requests, as logged', () => {
  function ops() {
    const lines: Record<string, unknown>[] = []
    const o = new Ops(
      { logFormat: 'json', logLevel: 'info' },
      new Metrics(),
      new Logger({ level: 'info', format: 'json', write: (l) => lines.push(JSON.parse(l)) }),
    )
    return { o, lines }
  }
  const facts = { status: 401, method: 'GET', path: '/rooms/r', room: 'r', ip: '127.0.0.1' }

  it('counts an upgrade by result and logs a refusal with its code, status, room, address and reason', async () => {
    const { o, lines } = ops()
    await o.answered({ ...facts, upgrade: true }, null, async () => 'unused')
    await o.answered({ ...facts, upgrade: true }, 'unauthorized', async () => 'token expired')
    await o.answered({ ...facts, upgrade: true, status: 429 }, 'rate_limited', async () => 'too many')
    expect(o.metrics.upgrades.get('accepted')).toBe(1)
    expect(o.metrics.upgrades.get('unauthorized')).toBe(1)
    expect(lines).toEqual([
      {
        time: expect.any(String),
        level: 'info',
        msg: 'upgrade refused',
        code: 'unauthorized',
        status: 401,
        room: 'r',
        ip: '127.0.0.1',
        reason: 'token expired',
      },
      // Too many upgrades from one address: abuse, at warn.
      expect.objectContaining({ level: 'warn', code: 'rate_limited', status: 429 }),
    ])
  })

  it('logs a refused publish with its method and path, and only counts refusals of routes that are not rooms', async () => {
    const { o, lines } = ops()
    await o.answered({ ...facts, upgrade: false, method: 'POST', path: '/rooms/r/messages' }, 'unauthorized', async () => 'wrong publish key')
    await o.answered({ ...facts, upgrade: false, path: '/wp-login.php', room: undefined, status: 404 }, 'not_found', async () => 'no route')
    expect(o.metrics.httpRefusals.get('unauthorized')).toBe(1)
    expect(o.metrics.httpRefusals.get('not_found')).toBe(1)
    expect(lines).toEqual([expect.objectContaining({ msg: 'request refused', code: 'unauthorized', method: 'POST', path: '/rooms/r/messages' })])
  })
})
