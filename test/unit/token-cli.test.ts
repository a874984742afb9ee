/** `npm run token`: prints a token the server's secret verifies, with the asked-for rights; refuses bad input. */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { createVerifier, readAccess } from '../../src/index.ts'
import { present } from '../support/present.ts'

const SECRET = 'cli-secret-0123456789-abcdefghijklmnop'
const run = promisify(execFile)
const token = (args: string[], env: Record<string, string> = { AUTH_SECRET: SECRET }) =>
  run(process.execPath, ['--import', 'tsx', 'bin/token.ts', ...args], { env: { ...process.env, AUTH_SECRET: '', ...env }, timeout: 30_000 })

describe('bin/token.ts', () => {
  it('prints only a token, granting the rooms, pub, sub and lifetime asked for', async () => {
    const before = Math.floor(Date.now() / 1000)
    const { stdout } = await token(['--room', 'demo', '--room', 'team-*', '--pub', '--sub', 'alice', '--ttl', '2h'])
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    const v = await present(createVerifier(readAccess({ AUTH_SECRET: SECRET })), 'a verifier')(stdout.trim())
    expect(v).toMatchObject({ ok: true, grant: { sub: 'alice', rooms: ['demo', 'team-*'], pub: true } })
    if (v.ok) {
      expect(v.grant.exp / 1000).toBeGreaterThanOrEqual(before + 7200)
      expect(v.grant.exp / 1000).toBeLessThanOrEqual(before + 7200 + 30)
    }
  }, 60_000)

  it('makes read-only tokens for an hour by default', async () => {
    const before = Math.floor(Date.now() / 1000)
    const { stdout } = await token(['--room', 'demo'])
    const v = await present(createVerifier(readAccess({ AUTH_SECRET: SECRET })), 'a verifier')(stdout.trim())
    expect(v).toMatchObject({ ok: true, grant: { rooms: ['demo'], pub: false } })
    if (v.ok) expect(Math.round(v.grant.exp / 1000 - before)).toBeGreaterThanOrEqual(3600)
  }, 60_000)

  it('prints only the token through `npm run -s token`, so T=$(npm run -s token -- …) captures exactly it', async () => {
    const { stdout } = await run('npm', ['run', '-s', 'token', '--', '--room', 'demo', '--pub'], {
      env: { ...process.env, AUTH_SECRET: SECRET },
      timeout: 30_000,
    })
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    expect(await present(createVerifier(readAccess({ AUTH_SECRET: SECRET })), 'a verifier')(stdout.trim())).toMatchObject({ ok: true, grant: { rooms: ['demo'], pub: true } })
  }, 60_000)

  it.each([['--help'], ['-h']])('prints its usage for %s and exits 0, with or without a secret', async (flag) => {
    const { stdout, stderr } = await token([flag], {})
    expect(stdout).toMatch(/^usage: npm run -s token -- --room NAME/)
    for (const option of ['--room', '--pub', '--sub', '--ttl', '--help']) expect(stdout).toContain(option)
    expect(stderr).toBe('')
  }, 60_000)

  it.each([
    [['--room', 'demo'], {}, /AUTH_SECRET/],
    [[], { AUTH_SECRET: SECRET }, /--room/],
    [['--room', 'bad room'], { AUTH_SECRET: SECRET }, /room name/],
    [['--room', 'demo', '--ttl', 'soon'], { AUTH_SECRET: SECRET }, /--ttl/],
    [['--room', 'demo', '--frobnicate'], { AUTH_SECRET: SECRET }, /frobnicate/],
  ])('refuses %j with exit code 2 and a reason', async (args, env, reason) => {
    const err = await token(args, env).then(
      () => null,
      (e: { code: number; stderr: string; stdout: string }) => e,
    )
    expect(err).not.toBeNull()
    expect(err?.code).toBe(2)
    expect(err?.stderr).toMatch(reason)
    expect(err?.stdout).toBe('')
  }, 60_000)
})
