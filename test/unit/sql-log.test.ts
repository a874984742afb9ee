/** Runs sql-log.bun.ts under the real bun binary: SqlLog against a real SQLite (bun:sqlite). */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { expect, it } from 'vitest'

const BUN = join(process.cwd(), 'node_modules', '.bin', 'bun')

it('SqlLog passes its cases on a real SQLite under bun', () => {
  const run = spawnSync(BUN, ['test', './test/unit/sql-log.bun.ts'], { encoding: 'utf8', timeout: 60_000 })
  const output = `${run.stdout}${run.stderr}`
  expect(run.error, output).toBeUndefined()
  expect(run.status, output).toBe(0)
  expect(Number(/\b(\d+) pass\b/.exec(output)?.[1] ?? 0), output).toBeGreaterThanOrEqual(9)
  expect(output).toMatch(/\b0 fail\b/)
}, 90_000)
