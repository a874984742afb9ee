import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : []
  })
}

const ALLOWED = /^(\.{1,2}\/|hono$|hono\/(?!deno|bun|cloudflare|aws|vercel|netlify|lambda)|jose$)/

describe('src/ is runtime-agnostic', () => {
  const sources = files('src')
  it.each(sources)('%s imports nothing runtime-specific', (file) => {
    const text = readFileSync(file, 'utf8')
    const specifiers = [...text.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2])
    for (const s of specifiers) expect(s, `${file} imports ${s}`).toMatch(ALLOWED)
    const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
    expect(code, `${file} uses a runtime global`).not.toMatch(/\b(Deno|Bun|process|Buffer|require)\s*[.(]/)
  })

  it('finds the sources it checks', () => expect(sources.length).toBeGreaterThan(8))
})
