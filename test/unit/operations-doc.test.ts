/** docs/operations.md lists every metric the registry exposes and every variable the ops settings read, so the page cannot fall behind. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Metrics } from '../../src/index.ts'

const doc = readFileSync('docs/operations.md', 'utf8')

describe('docs/operations.md', () => {
  it.each(new Metrics().families().map((f) => [f.name, f.type] as const))('documents %s as a %s', (name, type) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${name}\` \\| ${type} \\|`, 'm'))
  })

  it.each(['METRICS_TOKEN', 'METRICS_PORT', 'LOG_FORMAT', 'LOG_LEVEL'])('documents %s with its default', (name) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${name}\` \\| [^|]+ \\| [^|]+ \\|$`, 'm'))
  })

  it('keeps a section for the admin API', () => expect(doc).toMatch(/^## Admin API$/m))
})
