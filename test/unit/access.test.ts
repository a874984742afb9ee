/** Access settings from the environment, and the door's checks: origin, upgrades per address, HTTP credentials. */
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import type { Clock } from '../../src/index.ts'
import { ConfigError, Door, readAccess, readConfig, safeEqual } from '../../src/index.ts'

const SECRET = 'unit-secret-0123456789-abcdefghijklmn'
const KEY = 'unit-publish-key-0123'

describe('readAccess', () => {
  it('defaults to open: any origin, no token, no publish key', () => {
    expect(readAccess({})).toEqual({ allowedOrigins: [] })
    expect(readConfig({}).access).toEqual({ allowedOrigins: [] })
  })

  it('normalises ALLOWED_ORIGINS as browsers send Origin', () => {
    expect(readAccess({ ALLOWED_ORIGINS: ' https://App.Example.com/ , http://localhost:3000,https://x.example:443' }).allowedOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:3000',
      'https://x.example',
    ])
  })

  it.each([
    [{ ALLOWED_ORIGINS: 'app.example.com' }, /ALLOWED_ORIGINS/],
    [{ ALLOWED_ORIGINS: 'https://app.example.com/path' }, /ALLOWED_ORIGINS/],
    [{ ALLOWED_ORIGINS: 'ftp://app.example.com' }, /ALLOWED_ORIGINS/],
    [{ ALLOWED_ORIGINS: 'https://user:pw@app.example.com' }, /ALLOWED_ORIGINS/],
    [{ AUTH_SECRET: 'short' }, /AUTH_SECRET.*32/],
    [{ AUTH_SECRET: SECRET, AUTH_JWKS_URL: 'https://idp.example/jwks' }, /only one/],
    [{ AUTH_JWKS_URL: 'not a url' }, /AUTH_JWKS_URL/],
    [{ AUTH_JWKS_URL: 'file:///etc/jwks' }, /AUTH_JWKS_URL/],
    [{ AUTH_PUBLIC_KEY: 'ssh-rsa AAAA' }, /AUTH_PUBLIC_KEY/],
    [{ PUBLISH_KEY: 'short' }, /PUBLISH_KEY.*16/],
    [{ MAX_UPGRADES_PER_IP: '0' }, /MAX_UPGRADES_PER_IP/],
    [{ MAX_CONNECTIONS: 'many' }, /MAX_CONNECTIONS/],
  ])('refuses %j at startup', (env, message) => {
    expect(() => readConfig(env)).toThrow(ConfigError)
    expect(() => readConfig(env)).toThrow(message)
  })

  it('reads the door limits, with documented defaults', () => {
    expect(readConfig({})).toMatchObject({ maxUpgradesPerIp: 20, maxConnections: 100_000 })
    expect(readConfig({ MAX_UPGRADES_PER_IP: '3', MAX_CONNECTIONS: '7' })).toMatchObject({ maxUpgradesPerIp: 3, maxConnections: 7 })
  })
})

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000): Clock & { t: number } {
  return {
    t: start,
    now() {
      return this.t
    },
    setTimeout: () => 0,
    clearTimeout: () => {},
  }
}

describe('Door', () => {
  it('counts upgrades per address per second and answers 429 with Retry-After past the limit', () => {
    const clock = fakeClock(5_000)
    const door = new Door(readConfig({ MAX_UPGRADES_PER_IP: '2' }), clock)
    expect(door.throttle('1.1.1.1')).toBeNull()
    expect(door.throttle('1.1.1.1')).toBeNull()
    expect(door.throttle('1.1.1.1')).toMatchObject({ status: 429, error: 'rate_limited', retryAfter: 1 })
    expect(door.throttle('2.2.2.2')).toBeNull()
    expect(door.throttle(undefined)).toBeNull()
    clock.t = 5_999
    expect(door.throttle('1.1.1.1')).not.toBeNull()
    clock.t = 6_000
    expect(door.throttle('1.1.1.1')).toBeNull()
  })

  it('counts HTTP publishes per address per second (MAX_PUBLISHES_PER_IP) and answers 429 past it; reads are not counted', async () => {
    const clock = fakeClock(5_000)
    const door = new Door(readConfig({ MAX_PUBLISHES_PER_IP: '2' }), clock)
    expect(await door.http(undefined, 'r', 'publish', '1.1.1.1')).toEqual({})
    expect(await door.http(undefined, 'r', 'read', '1.1.1.1')).toEqual({})
    expect(await door.http(undefined, 'other', 'publish', '1.1.1.1')).toEqual({})
    expect(await door.http(undefined, 'r', 'publish', '1.1.1.1')).toMatchObject({ status: 429, error: 'rate_limited', retryAfter: 1 })
    expect(await door.http(undefined, 'r', 'publish', '2.2.2.2')).toEqual({})
    expect(await door.http(undefined, 'r', 'publish', undefined)).toEqual({})
    // Upgrades have a count of their own.
    expect(door.throttle('1.1.1.1')).toBeNull()
    clock.t = 6_000
    expect(await door.http(undefined, 'r', 'publish', '1.1.1.1')).toEqual({})
  })

  it('exempts publishes made with PUBLISH_KEY from the per-address count, and counts token and anonymous ones before any verification', async () => {
    const clock = fakeClock(5_000)
    const door = new Door(readConfig({ MAX_PUBLISHES_PER_IP: '1', PUBLISH_KEY: KEY, AUTH_SECRET: SECRET }), clock)
    const writer = await new SignJWT({ rooms: ['r'], pub: true })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET))
    for (let i = 0; i < 5; i++) expect(await door.http(KEY, 'r', 'publish', '1.1.1.1')).toEqual({})
    expect(await door.http(writer, 'r', 'publish', '1.1.1.1')).toMatchObject({ grant: { pub: true } })
    expect(await door.http(writer, 'r', 'publish', '1.1.1.1')).toMatchObject({ status: 429 })
    expect(await door.http('not a token', 'r', 'publish', '1.1.1.1')).toMatchObject({ status: 429 })
    expect(await door.http(KEY, 'r', 'publish', '1.1.1.1')).toEqual({})
  })

  it('allows any Origin when none are listed; else only listed ones, and requests without Origin', () => {
    expect(new Door(readConfig({})).checkOrigin('https://evil.example')).toBeNull()
    const door = new Door(readConfig({ ALLOWED_ORIGINS: 'https://app.example.com' }))
    expect(door.checkOrigin('https://app.example.com')).toBeNull()
    expect(door.checkOrigin(undefined)).toBeNull()
    for (const o of ['https://evil.example', 'null', 'https://app.example.com.evil', 'http://app.example.com', 'https://app.example.com/']) {
      expect(door.checkOrigin(o), o).toMatchObject({ status: 403, error: 'bad_origin' })
    }
  })

  it('lets anyone publish and read over HTTP when neither PUBLISH_KEY nor a token key is set', async () => {
    const door = new Door(readConfig({}))
    expect(await door.http(undefined, 'r', 'publish')).toEqual({})
    expect(await door.join(undefined, 'r')).toEqual({})
  })

  it('with only PUBLISH_KEY: publishing needs the key, reading stays open', async () => {
    const door = new Door(readConfig({ PUBLISH_KEY: KEY }))
    expect(await door.http(undefined, 'r', 'publish')).toMatchObject({ status: 401 })
    expect(await door.http(KEY + 'x', 'r', 'publish')).toMatchObject({ status: 401 })
    expect(await door.http(KEY, 'r', 'publish')).toEqual({})
    expect(await door.http(undefined, 'r', 'read')).toEqual({})
  })

  it('with a token key: the publish key or a token for the room (with pub to publish)', async () => {
    const door = new Door(readConfig({ PUBLISH_KEY: KEY, AUTH_SECRET: SECRET }))
    const sign = (claims: object) =>
      new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET))
    const reader = await sign({ rooms: ['r'] })
    const writer = await sign({ rooms: ['r'], pub: true, sub: 'w' })
    expect(await door.http(undefined, 'r', 'read')).toMatchObject({ status: 401 })
    expect(await door.http(reader, 'r', 'read')).toMatchObject({ grant: { rooms: ['r'] } })
    expect(await door.http(reader, 'r', 'publish')).toMatchObject({ status: 403, error: 'forbidden' })
    expect(await door.http(writer, 'r', 'publish')).toMatchObject({ grant: { sub: 'w', pub: true } })
    expect(await door.http(writer, 'other', 'publish')).toMatchObject({ status: 403 })
    expect(await door.http(KEY, 'r', 'read')).toEqual({})
    expect(await door.join(undefined, 'r')).toMatchObject({ status: 401 })
    expect(await door.join(reader, 'other')).toMatchObject({ status: 403, error: 'forbidden' })
    expect(await door.join(reader, 'r')).toMatchObject({ grant: { rooms: ['r'], pub: false } })
  })

  it.each([
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['abc', 'ab', false],
    ['', 'a', false],
    ['a', '', false],
    ['', '', true],
  ])('safeEqual(%j, %j) is %s', (a, b, eq) => {
    expect(safeEqual(a, b)).toBe(eq)
  })
})
