/** Start `wrangler dev` (the real wrangler and workerd) on an ephemeral port, over a persisted state directory. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ServerHandle } from './server.ts'
import { spawnServer } from './server.ts'

/** wrangler's own launcher, run with this Node (wrangler 4.86 runs on Node 20). */
export const WRANGLER = join(process.cwd(), 'node_modules', 'wrangler', 'bin', 'wrangler.js')

/** Environment for every wrangler run: no telemetry, no update check worth waiting for. */
export const WRANGLER_ENV: Record<string, string> = { WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' }

/** A fresh directory for a Durable Object's state; remove it with `removeDir`. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

/** `wrangler dev` on 127.0.0.1, a port it picks, state in `persistTo`, and `vars` as the Worker's [vars]. */
export function startWrangler(vars: Record<string, string>, persistTo: string): Promise<ServerHandle> {
  const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', '0', '--inspector-port', '0', '--persist-to', persistTo]
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`)
  return spawnServer({
    cmd: process.execPath,
    args,
    env: WRANGLER_ENV,
    // Bundling and starting workerd on a shared two-core machine can take a while.
    timeoutMs: 90_000,
    ready: /Ready on https?:\/\/[^:\s]+:(\d+)/,
  })
}
