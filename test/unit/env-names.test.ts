import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { editDistance } from '../../src/config/env-names.ts'
import { knownEnvNames, lookalikeWarnings } from '../../src/index.ts'

describe('lookalikeWarnings', () => {
  it('names the likely variable for a typo, a swap or the wrong case', () => {
    expect(lookalikeWarnings({ RATE_LIMT: '5' })).toEqual(['roomcast: warning: RATE_LIMT is not a roomcast variable and is ignored; did you mean RATE_LIMIT?'])
    expect(lookalikeWarnings({ MAX_FRAME_BYTS: '1' })[0]).toMatch(/did you mean MAX_FRAME_BYTES\?$/)
    expect(lookalikeWarnings({ IDLE_TIMEUOT_MS: '1' })[0]).toMatch(/did you mean IDLE_TIMEOUT_MS\?$/)
    expect(lookalikeWarnings({ rate_limit: '5' })[0]).toMatch(/^roomcast: warning: rate_limit .* did you mean RATE_LIMIT\?$/)
    expect(lookalikeWarnings({ PROT: '80' })[0]).toMatch(/did you mean PORT\?$/)
    expect(lookalikeWarnings({ REDIS_UR: 'redis://x' })[0]).toMatch(/did you mean REDIS_URL\?$/)
  })

  it("says nothing of roomcast's own variables or of the usual environment", () => {
    const env: Record<string, string> = {}
    for (const name of knownEnvNames) env[name] = '1'
    for (const name of [
      'HOME',
      'PATH',
      'PWD',
      'OLDPWD',
      'TERM',
      'SHELL',
      'USER',
      'LANG',
      'HOSTNAME',
      'HOSTTYPE',
      'NODE_ENV',
      'CI',
      'TZ',
      'TMPDIR',
      'LOGNAME',
      'DISPLAY',
      'EDITOR',
      'PAGER',
      'NO_COLOR',
      'FORCE_COLOR',
      'DENO_DIR',
      'BUN_INSTALL',
      'VITEST_POOL_ID',
      'TEST',
    ])
      env[name] = '1'
    expect(lookalikeWarnings(env)).toEqual([])
  })
})

describe('editDistance', () => {
  it.each([
    ['RATE_LIMIT', 'RATE_LIMIT', 0],
    ['RATE_LIMT', 'RATE_LIMIT', 1],
    ['RATE_LMIIT', 'RATE_LIMIT', 1],
    ['HOME', 'HOST', 2],
    ['ABC', 'XYZ', 3],
    ['A', 'ABCDEFG', 3],
  ])('%s to %s: %i (capped at 2 + 1)', (a, b, d) => {
    expect(editDistance(a, b, 2)).toBe(Math.min(d, 3))
  })
})

/** Every `env.NAME`, `get('NAME')` and `readPositiveInt(env, 'NAME'` in the long-running servers' sources. */
function variablesRead(): Set<string> {
  const files = ['src', 'adapters'].flatMap((dir) =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.includes('cloudflare') && !f.endsWith('.gen.ts') && !f.startsWith('client'))
      .map((f) => join(dir, f)),
  )
  const found = new Set<string>()
  for (const f of files) {
    const text = readFileSync(f, 'utf8')
    for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)|\bget\('([A-Z][A-Z0-9_]+)'\)|readPositiveInt\(env, '([A-Z][A-Z0-9_]+)'/g))
      found.add(m[1] ?? m[2] ?? m[3] ?? '')
  }
  return found
}

describe('knownEnvNames', () => {
  it('holds every variable the servers read, so none of them is ever warned about', () => {
    const read = variablesRead()
    expect(read.size).toBeGreaterThan(5)
    for (const name of read) expect(knownEnvNames.has(name), name).toBe(true)
  })
})
