import { describe, expect, it } from 'vitest'
import { ConfigError, defaults, envNames, readConfig } from '../../src/index.ts'

describe('readConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect(readConfig({})).toEqual(defaults)
    expect(defaults).toMatchObject({ maxFrameBytes: 65536, rateLimit: 50, rateBurst: 100, maxRoomConnections: 10000, maxBufferedBytes: 4194304, historyMessages: 1000, historyBytes: 1048576, idleTimeoutMs: 60000, pingIntervalMs: 20000 })
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
