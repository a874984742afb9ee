/** The folders of src/ depend downward only, and no two files import each other in a circle (docs/DESIGN.md, Layout). */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.gen.ts') ? [p] : []
  })
}

/** Which folders each folder of src/ may import from. */
const MAY_USE: Record<string, string[]> = {
  '.': ['server', 'room', 'hooks', 'access', 'log', 'config', 'wire', 'client'],
  server: ['room', 'hooks', 'access', 'log', 'config', 'wire', 'client'],
  room: ['hooks', 'log', 'config', 'wire'],
  // The hooks' types name a token's grant (access) and a message's kind (log); nothing of theirs runs there.
  hooks: ['access', 'log', 'wire'],
  access: ['config', 'wire'],
  log: ['wire'],
  config: ['wire'],
  client: ['wire'],
  wire: [],
}

const folderOf = (file: string) => {
  const rel = relative('src', file)
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '.'
}

/** Every src file with the src files it imports. */
function imports(): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const file of files('src')) {
    const text = readFileSync(file, 'utf8')
    const specs = [...text.matchAll(/(?:import|export)[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1] as string)
    out.set(
      file,
      specs.map((s) => normalize(join(dirname(file), s))),
    )
  }
  return out
}

describe('src/ layout', () => {
  const graph = imports()

  it('has every folder in the table', () => {
    for (const file of graph.keys()) expect(Object.keys(MAY_USE), file).toContain(folderOf(file))
  })

  it.each([...graph.keys()])('%s imports only from its own folder or the folders below it', (file) => {
    const from = folderOf(file)
    for (const target of graph.get(file) ?? []) {
      const to = folderOf(target)
      if (to !== from) expect(MAY_USE[from], `${file} imports ${target}`).toContain(to)
    }
  })

  it('has no import circle between files', () => {
    const state = new Map<string, 'open' | 'done'>()
    const path: string[] = []
    const visit = (file: string): void => {
      if (state.get(file) === 'done') return
      if (state.get(file) === 'open') throw new Error(`import circle: ${[...path.slice(path.indexOf(file)), file].join(' -> ')}`)
      state.set(file, 'open')
      path.push(file)
      for (const t of graph.get(file) ?? []) if (graph.has(t)) visit(t)
      path.pop()
      state.set(file, 'done')
    }
    expect(() => {
      for (const file of graph.keys()) visit(file)
    }).not.toThrow()
  })
})
