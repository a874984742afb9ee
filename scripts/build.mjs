/**
 * `npm run build`: the package's JavaScript and .d.ts into dist/. tsc emits each entry with the types of
 * its runtime (tsconfig.build*.json) and rewrites the `.ts` of relative imports to `.js` in the JavaScript;
 * in declarations it keeps them, so they are rewritten here, for consumers whose resolver wants `.js`.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

rmSync(dist, { recursive: true, force: true })
// The main build last: every build emits the core too, and the same sources give the same files.
for (const project of ['tsconfig.build.bun.json', 'tsconfig.build.cloudflare.json', 'tsconfig.build.json']) {
  execFileSync(process.execPath, [tsc, '-p', join(root, project)], { stdio: 'inherit' })
}

/** Every file under `dir`. */
function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : [p]
  })
}

const RELATIVE_TS = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g
for (const file of files(dist)) {
  if (!file.endsWith('.d.ts')) continue
  const text = readFileSync(file, 'utf8')
  const out = text.replace(RELATIVE_TS, '$1$2.js$3')
  if (out !== text) writeFileSync(file, out)
}
