/**
 * The package as a user gets it: `npm pack`, the tarball installed with hono and @hono/node-server into a
 * fresh project outside this repository, and the examples copied there unchanged: examples/hono-node run
 * with plain node (the embedding scenario, and the chat page chatting in Chromium under /live/), and the
 * Deno, Bun and Worker examples on the same installed package (so its dist/ serves every runtime and
 * wrangler's bundler). Also a look at what the tarball holds: dist/ only, and no entry reaching into
 * another runtime's files.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectJson, uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import { spawnServer } from '../support/server.ts'
import { WRANGLER, WRANGLER_ENV } from '../support/wrangler.ts'
import { embeddingScenario, login } from './scenario.ts'

const ROOT = process.cwd()
/** What `npm pack` reads: the manifest, the README, and what the build compiles with its settings. */
const PACKAGE_SOURCES = ['package.json', 'README.md', 'src', 'adapters', 'scripts/build.mjs', ...readdirSync(ROOT).filter((f) => /^tsconfig.*\.json$/.test(f))]
const work = mkdtempSync(join(tmpdir(), 'roomcast-pack-'))
const app = join(work, 'app')
const installed = join(app, 'node_modules', 'roomcast')
let server: ServerHandle

interface Packed {
  filename: string
  size: number
  unpackedSize: number
  entryCount: number
  files: { path: string }[]
}
let packed: Packed

const version = (name: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 })

beforeAll(async () => {
  // npm pack runs `prepare`, which builds dist/ from the sources as they are. It runs in a copy of what the
  // build reads, so the repository's own dist/ (what `npm start` runs, maybe in another test right now) stays.
  const source = join(work, 'roomcast')
  for (const path of PACKAGE_SOURCES) cpSync(join(ROOT, path), join(source, path), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'))
  packed = (JSON.parse(npm(['pack', '--json', '--pack-destination', work], source)) as Packed[])[0] as Packed
  console.log(
    `npm pack: ${packed.filename}, ${(packed.size / 1024).toFixed(1)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KiB unpacked, ${packed.entryCount} files`,
  )
  // Each example in a folder of the project, as it is in the repository; they share the project's node_modules.
  for (const example of ['hono-node', 'hono-deno', 'hono-bun', 'worker']) cpSync(join(ROOT, 'examples', example), join(app, example), { recursive: true })
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  // From the npm cache where it has them (the repository's own install put them there), else the registry.
  npm(
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(work, packed.filename),
      `hono@${version('hono')}`,
      `@hono/node-server@${version('@hono/node-server')}`,
    ],
    app,
  )
  server = await spawnServer({ cmd: process.execPath, args: ['server.mjs'], cwd: join(app, 'hono-node'), timeoutMs: 30_000 })
}, 300_000)

afterAll(async () => {
  await server?.stop()
  rmSync(work, { recursive: true, force: true })
})

describe('the packed package', () => {
  it('holds dist/ and nothing of the tests, benches, docs or sources', () => {
    const paths = packed.files.map((f) => f.path)
    for (const p of paths) expect(p, p).toMatch(/^(dist\/.+\.(js|d\.ts)|package\.json|README\.md|LICENSE)$/)
    for (const entry of [
      'dist/src/index.js',
      'dist/adapters/node/index.js',
      'dist/adapters/deno/index.js',
      'dist/adapters/bun/index.js',
      'dist/adapters/cloudflare/index.js',
      'dist/adapters/redis/index.js',
      'dist/src/client/index.js',
    ]) {
      expect(paths).toContain(entry)
      expect(paths).toContain(entry.replace(/\.js$/, '.d.ts'))
    }
  })

  it('installs with plain node resolution: every export of the exports map resolves to a file in the tarball', () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> }
    for (const [entry, target] of Object.entries(pkg.exports)) {
      for (const file of typeof target === 'string' ? [target] : Object.values(target))
        expect(existsSync(join(installed, file)), `${entry}: ${file}`).toBe(true)
    }
  })

  it('has no file that imports a deep path of another runtime, and a core that imports no runtime at all', () => {
    const dist = join(installed, 'dist')
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]))
    const js = files(dist).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))
    expect(js.length).toBeGreaterThan(20)
    // What each part may import besides its own folder's files and the public entries (src/index, <runtime>/index).
    const packages: Record<string, RegExp> = {
      src: /^(hono|hono\/(body-limit|route|conninfo|ws)|jose)$/,
      node: /^(node:.+|ws|@hono\/node-server(\/conninfo)?|hono\/ws)$/,
      deno: /^hono\/(deno|ws)$/,
      bun: /^(bun|hono\/(bun|ws))$/,
      cloudflare: /^(cloudflare:workers|hono|hono\/cloudflare-workers)$/,
      redis: /^ioredis$/,
    }
    let checked = 0
    for (const file of js) {
      const rel = relative(dist, file)
      const part = rel.startsWith('src/') ? 'src' : (rel.split('/')[1] as string)
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = (m[1] ?? m[2]) as string
        checked++
        if (!spec.startsWith('.')) {
          expect(spec, `${rel} imports ${spec}`).toMatch(packages[part] as RegExp)
          continue
        }
        const target = relative(dist, resolve(dirname(file), spec))
        expect(target, `${rel} imports ${spec}`).toMatch(/\.js$/)
        const own = part === 'src' ? target.startsWith('src/') : dirname(target) === `adapters/${part}`
        // Another part is reached only through its public entry.
        if (!own) expect(target, `${rel} imports ${spec}`).toMatch(/^(src\/index\.js|adapters\/(node|deno|bun|cloudflare|redis)\/index\.js)$/)
      }
    }
    expect(checked).toBeGreaterThan(100)
  })
})

describe('examples/hono-node in a fresh project, from the tarball', () => {
  it('the Hono app on @hono/node-server with roomcast at /live: its routes, login, the hooks, the chat page', () => embeddingScenario(server.http), 60_000)

  it('the chat page under /live/ chats in Chromium: its script and WebSocket URL are relative to it, and it posts as the session', async () => {
    const room = uniqueRoom('page')
    const cookie = await login(server.http, 'carol')
    const watcher = await connectJson(`${server.ws}/live/rooms/${room}`, { headers: { Cookie: await login(server.http, 'dave') } })
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      timeout: 60_000,
    })
    try {
      const context = await browser.newContext()
      const [name, value] = cookie.split('=') as [string, string]
      await context.addCookies([{ name, value, url: server.http }])
      const page = await context.newPage()
      // Without the trailing slash: the redirect puts the page where its relative URLs resolve under /live/.
      await page.goto(`${server.http}/live?room=${room}`)
      expect(new URL(page.url()).pathname).toBe('/live/')
      await page.waitForSelector('#state[data-state="open"]', { timeout: 15_000 })
      await page.fill('#text', 'hello from the page')
      await page.press('#text', 'Enter')
      const m = await watcher.client.frame('message', 10_000)
      expect(m).toMatchObject({ room, from: 'carol', data: { text: 'hello from the page' } })
    } finally {
      watcher.client.ws.terminate()
      await browser.close()
    }
  }, 90_000)
})

/** Another example on the same installed package, its server started for its own tests. */
function onTheTarball(name: string, start: () => Promise<ServerHandle>, v2 = true): void {
  describe(`${name} in the same project, from the tarball`, () => {
    let other: ServerHandle
    beforeAll(async () => {
      other = await start()
    }, 120_000)
    afterAll(async () => {
      await other?.stop()
    })
    it('passes the embedding scenario', () => embeddingScenario(other.http, { v2 }), 60_000)
  })
}

// Deno finds the project's package.json and takes roomcast from its node_modules.
onTheTarball('examples/hono-deno', () =>
  spawnServer({
    cmd: join(ROOT, 'node_modules', '.bin', 'deno'),
    args: ['run', '--allow-net', '--allow-env', '--allow-read', 'server.mjs'],
    cwd: join(app, 'hono-deno'),
    timeoutMs: 60_000,
  }),
)
onTheTarball('examples/hono-bun', () =>
  spawnServer({ cmd: join(ROOT, 'node_modules', '.bin', 'bun'), args: ['run', 'server.mjs'], cwd: join(app, 'hono-bun'), timeoutMs: 60_000 }),
)
// wrangler's bundler resolves roomcast/cloudflare from the project's node_modules.
onTheTarball(
  'examples/worker',
  () =>
    spawnServer({
      cmd: process.execPath,
      args: [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', '0', '--inspector-port', '0', '--persist-to', join(work, 'wrangler-state')],
      cwd: join(app, 'worker'),
      env: WRANGLER_ENV,
      timeoutMs: 90_000,
      ready: /Ready on https?:\/\/[^:\s]+:(\d+)/,
    }),
  // Cloudflare refuses v2 on the mount root (multiplexing: false).
  false,
)
