/** Token verification with every key kind (HS256 secret, RS256/ES256 public key, a JWKS URL) and what a grant allows. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import type { Grant } from '../../src/index.ts'
import { bearer, createVerifier, grantsRoom, mintToken, readAccess, tokenFromProtocols } from '../../src/index.ts'
import { present } from '../support/present.ts'

const SECRET = 'unit-secret-0123456789-abcdefghijklmn'
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600
const quiet = () => {}

describe('createVerifier', () => {
  it('needs no token when no key is configured', () => {
    expect(createVerifier(readAccess({}))).toBeNull()
  })

  it('HS256: accepts a good token and reads sub, rooms, pub and exp', async () => {
    const verify = present(createVerifier(readAccess({ AUTH_SECRET: SECRET })), 'a verifier')
    const exp = inAnHour()
    const token = await new SignJWT({ rooms: ['a', 'b-*'], pub: true })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ann')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(SECRET))
    expect(await verify(token)).toEqual({ ok: true, grant: { sub: 'ann', rooms: ['a', 'b-*'], pub: true, exp: exp * 1000 } })
  })

  it('HS256: refuses other algorithms, other secrets, bad claims and missing exp with 401', async () => {
    const verify = present(createVerifier(readAccess({ AUTH_SECRET: SECRET })), 'a verifier')
    const key = new TextEncoder().encode(SECRET)
    const sign = (claims: object, alg = 'HS256', k = key) => new SignJWT({ ...claims }).setProtectedHeader({ alg }).setExpirationTime(inAnHour()).sign(k)
    const cases: [string, string][] = [
      ['HS512', await sign({ rooms: ['a'] }, 'HS512')],
      ['other secret', await sign({ rooms: ['a'] }, 'HS256', new TextEncoder().encode(SECRET + 'x'))],
      ['no rooms', await sign({})],
      ['bad room pattern', await sign({ rooms: ['a*b'] })],
      ['room too long', await sign({ rooms: ['r'.repeat(65)] })],
      ['too many rooms', await sign({ rooms: Array.from({ length: 65 }, (_, i) => `r${i}`) })],
      ['empty sub', await sign({ rooms: ['a'], sub: '' })],
      ['huge sub', await sign({ rooms: ['a'], sub: 's'.repeat(257) })],
      ['numeric sub', await sign({ rooms: ['a'], sub: 7 })],
      ['pub as string', await sign({ rooms: ['a'], pub: 'true' })],
      ['no exp', await new SignJWT({ rooms: ['a'] }).setProtectedHeader({ alg: 'HS256' }).sign(key)],
      [
        'not before later',
        await new SignJWT({ rooms: ['a'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(inAnHour()).setNotBefore(inAnHour()).sign(key),
      ],
      ['garbage', 'a.b.c'],
      ['empty', ''],
    ]
    for (const [what, token] of cases) {
      const v = await verify(token)
      expect(v.ok, what).toBe(false)
      if (!v.ok) expect(v.status, what).toBe(401)
    }
    const expired = await new SignJWT({ rooms: ['a'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 1)
      .sign(key)
    expect(await verify(expired)).toEqual({ ok: false, status: 401, message: 'token expired' })
  })

  for (const [alg, options] of [
    ['RS256', { modulusLength: 2048 }],
    ['ES256', {}],
  ] as const) {
    it(`AUTH_PUBLIC_KEY: verifies ${alg} with the key's own algorithm only`, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg, options)
      const pem = await exportSPKI(publicKey)
      // One-line PEM with literal \n, as env files carry it.
      const verify = present(createVerifier(readAccess({ AUTH_PUBLIC_KEY: pem.replace(/\n/g, '\\n') })), 'a verifier')
      const token = await new SignJWT({ rooms: ['x'] }).setProtectedHeader({ alg }).setExpirationTime(inAnHour()).sign(privateKey)
      expect(await verify(token)).toMatchObject({ ok: true, grant: { rooms: ['x'], pub: false } })
      const other = await generateKeyPair(alg, options)
      const forged = await new SignJWT({ rooms: ['x'] }).setProtectedHeader({ alg }).setExpirationTime(inAnHour()).sign(other.privateKey)
      expect(await verify(forged)).toMatchObject({ ok: false, status: 401 })
      // HS256 signed with the public key's text: the classic algorithm-confusion attack.
      const confused = await new SignJWT({ rooms: ['x'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(inAnHour())
        .sign(new TextEncoder().encode(pem))
      expect(await verify(confused)).toMatchObject({ ok: false, status: 401 })
    })
  }

  it('AUTH_PUBLIC_KEY that is not RSA or P-256: 503 and one log line however many tokens arrive, not a crash', async () => {
    const { publicKey } = await generateKeyPair('EdDSA')
    const errors: unknown[] = []
    const verify = present(
      createVerifier(readAccess({ AUTH_PUBLIC_KEY: await exportSPKI(publicKey) }), (e) => errors.push(e)),
      'a verifier',
    )
    expect(await verify('a.b.c')).toMatchObject({ ok: false, status: 503 })
    expect(await verify('a.b.c')).toMatchObject({ ok: false, status: 503 })
    expect(errors.length).toBe(1)
  })

  describe('AUTH_JWKS_URL', () => {
    const servers: http.Server[] = []
    afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))))
    const serve = (handler: http.RequestListener) =>
      new Promise<string>((resolve) => {
        const s = http.createServer(handler)
        servers.push(s)
        s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}/jwks.json`))
      })

    it('verifies RS256 and ES256 tokens against a key set fetched over HTTP, by kid', async () => {
      const rsa = await generateKeyPair('RS256', { modulusLength: 2048 })
      const ec = await generateKeyPair('ES256')
      const keys = [
        { ...(await exportJWK(rsa.publicKey)), kid: 'r1', alg: 'RS256' },
        { ...(await exportJWK(ec.publicKey)), kid: 'e1', alg: 'ES256' },
      ]
      const url = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })))
      const verify = present(createVerifier(readAccess({ AUTH_JWKS_URL: url })), 'a verifier')
      for (const [alg, kid, key] of [
        ['RS256', 'r1', rsa.privateKey],
        ['ES256', 'e1', ec.privateKey],
      ] as const) {
        const token = await new SignJWT({ rooms: ['j'], pub: true }).setProtectedHeader({ alg, kid }).setSubject(kid).setExpirationTime(inAnHour()).sign(key)
        expect(await verify(token)).toMatchObject({ ok: true, grant: { sub: kid, rooms: ['j'], pub: true } })
      }
      const stranger = await generateKeyPair('ES256')
      const forged = await new SignJWT({ rooms: ['j'] }).setProtectedHeader({ alg: 'ES256', kid: 'zz' }).setExpirationTime(inAnHour()).sign(stranger.privateKey)
      expect(await verify(forged)).toMatchObject({ ok: false, status: 401 })
    })

    it('answers 503, not 401, when the key set cannot be read', async () => {
      const url = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"nope":1}'))
      const verify = present(createVerifier(readAccess({ AUTH_JWKS_URL: url }), quiet), 'a verifier')
      const { privateKey } = await generateKeyPair('ES256')
      const token = await new SignJWT({ rooms: ['j'] }).setProtectedHeader({ alg: 'ES256' }).setExpirationTime(inAnHour()).sign(privateKey)
      expect(await verify(token)).toMatchObject({ ok: false, status: 503 })
      const down = present(createVerifier(readAccess({ AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks.json' }), quiet), 'a verifier')
      expect(await down(token)).toMatchObject({ ok: false, status: 503 })
    })
  })
})

describe('grantsRoom', () => {
  const grant = (rooms: string[]): Grant => ({ rooms, pub: false, exp: 0 })
  it.each([
    [['demo'], 'demo', true],
    [['demo'], 'demo2', false],
    [['demo'], 'dem', false],
    [['team-*'], 'team-a', true],
    [['team-*'], 'team-', true],
    [['team-*'], 'team', false],
    [['team-*'], 'xteam-a', false],
    [['*'], 'anything.at_all', true],
    [[], 'demo', false],
    [['a', 'b*'], 'bee', true],
  ])('%j grants %s: %s', (rooms, room, expected) => {
    expect(grantsRoom(grant(rooms), room)).toBe(expected)
  })
})

describe('where tokens come from', () => {
  it.each([
    [undefined, undefined],
    ['roomcast.v1', undefined],
    ['roomcast.v1, aaa.bbb.ccc', 'aaa.bbb.ccc'],
    ['aaa.bbb.ccc, roomcast.v1', 'aaa.bbb.ccc'],
    ['roomcast.v1,chat, x.y.z', 'x.y.z'],
    ['roomcast.v1, not-a-token', undefined],
  ])('Sec-WebSocket-Protocol %j -> %j', (header, token) => {
    expect(tokenFromProtocols(header)).toBe(token)
  })

  it.each([
    ['Bearer abc.def', 'abc.def'],
    ['bearer   key', 'key'],
    ['Basic abc', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('Authorization %j -> %j', (header, token) => {
    expect(bearer(header)).toBe(token)
  })
})

describe('mintToken', () => {
  it('signs a token the verifier accepts, with the rooms, pub, sub and lifetime asked for', async () => {
    const now = Date.now()
    const token = await mintToken(SECRET, { rooms: ['demo', 'team-*'], pub: true, sub: 'cli', ttlSeconds: 90 }, now)
    const v = await present(createVerifier(readAccess({ AUTH_SECRET: SECRET })), 'a verifier')(token)
    expect(v).toEqual({ ok: true, grant: { sub: 'cli', rooms: ['demo', 'team-*'], pub: true, exp: (Math.floor(now / 1000) + 90) * 1000 } })
  })
})
