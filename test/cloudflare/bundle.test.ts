/** The Worker bundles for deployment: `wrangler deploy --dry-run` builds it without an account. */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, expect, it } from 'vitest'
import { WRANGLER, WRANGLER_ENV, removeDir, tempDir } from '../support/wrangler.ts'

const out = tempDir('roomcast-bundle-')
afterAll(() => removeDir(out))

it('wrangler deploy --dry-run builds the Worker bundle with the room object and its binding', () => {
  const run = spawnSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', out], {
    env: { ...process.env, ...WRANGLER_ENV },
    encoding: 'utf8',
    timeout: 120_000,
  })
  const output = `${run.stdout}${run.stderr}`
  expect(run.status, output).toBe(0)
  expect(output).toMatch(/env\.ROOMS \(RoomObject\)\s+Durable Object/)
  const bundle = join(out, 'worker.js')
  expect(existsSync(bundle), output).toBe(true)
  const code = readFileSync(bundle)
  expect(code.toString()).toMatch(/class extends DurableObject/)
  const size = statSync(bundle).size
  console.log(`cloudflare bundle: ${(size / 1024).toFixed(1)} KiB, gzip ${(gzipSync(code).length / 1024).toFixed(1)} KiB`)
  // Workers' free plan takes 3 MiB compressed; far below that, this only catches a runaway dependency.
  expect(size).toBeLessThan(1024 * 1024)
}, 120_000)
