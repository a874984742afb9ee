import { describe, expect, it } from 'vitest'
import { ConfigError, defaults, envNames, listeningLine, readConfig, readListen, readPositiveInt } from '../../src/index.ts'

describe('readConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect(readConfig({})).toEqual(defaults)
    expect(defaults).toMatchObject({
      maxFrameBytes: 65536,
      rateLimit: 50,
      rateBurst: 100,
      maxRoomConnections: 10000,
      maxBufferedBytes: 4194304,
      historyMessages: 1000,
      historyBytes: 1048576,
      idleTimeoutMs: 60000,
      pingIntervalMs: 20000,
    })
    expect(defaults).toMatchObject({ maxRooms: 10000, historyTotalBytes: 256 * 1024 * 1024, maxPublishesPerIp: 50 })
  })

  it('reads every option from its variable', () => {
    const env = Object.fromEntries(Object.values(envNames).map((n) => [n, n === 'DEFAULT_ROOM' ? 'hall' : '7']))
    const cfg = readConfig(env)
    for (const key of Object.keys(envNames) as (keyof typeof envNames)[]) expect(cfg[key], key).toBe(key === 'defaultRoom' ? 'hall' : 7)
    // Strings and secrets (origins, token keys) have their own reader and tests (access.test.ts).
    expect(Object.keys(cfg).sort()).toEqual([...Object.keys(envNames), 'access'].sort())
  })

  it.each([
    ['MAX_FRAME_BYTES', 'lots'],
    ['RATE_LIMIT', '-1'],
    ['RATE_BURST', '1.5'],
    ['HISTORY_MESSAGES', '0'],
    ['DEFAULT_ROOM', 'no spaces'],
  ])('refuses %s=%s with a ConfigError naming the variable', (name, value) => {
    expect(() => readConfig({ [name]: value })).toThrow(ConfigError)
    expect(() => readConfig({ [name]: value })).toThrow(name)
  })
})

describe('readListen and listeningLine', () => {
  it('defaults to port 3000 on all interfaces, and prints localhost for it', () => {
    expect(readListen({})).toEqual({ port: 3000, hostname: '0.0.0.0' })
    expect(listeningLine('0.0.0.0', 3000)).toBe('roomcast listening on http://localhost:3000')
    expect(readListen({ PORT: '0', HOST: '127.0.0.1' })).toEqual({ port: 0, hostname: '127.0.0.1' })
  })

  it.each(['http', '-1', '1.5', '65536'])('refuses PORT=%s with a ConfigError naming PORT', (value) => {
    expect(() => readListen({ PORT: value })).toThrow(/PORT/)
  })

  it('reads an adapter’s own positive integer or its fallback', () => {
    expect(readPositiveInt({}, 'X_MS', 5)).toBe(5)
    expect(readPositiveInt({ X_MS: '7' }, 'X_MS', 5)).toBe(7)
    expect(() => readPositiveInt({ X_MS: '0' }, 'X_MS', 5)).toThrow(ConfigError)
  })
})
