/** How the scale-out scenarios start an instance of each runtime: exactly what a user runs, with the binaries `npm install` put in node_modules. */
import { spawnServer } from '../support/server.ts'
import type { Start } from './suite.ts'

/** `node --import tsx adapters/node/server.ts` (what `npm start` runs, from the sources). */
export const node: Start = (env) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'], env })

/** `deno task start`. */
export const deno: Start = (env) => spawnServer({ cmd: 'node_modules/.bin/deno', args: ['task', 'start'], env, timeoutMs: 60000 })

/** `bun run adapters/bun/server.ts`. */
export const bun: Start = (env) => spawnServer({ cmd: 'node_modules/.bin/bun', args: ['run', 'adapters/bun/server.ts'], env, timeoutMs: 60000 })
