import { afterAll } from 'vitest'
import { removeDir, startWrangler, tempDir } from '../support/wrangler.ts'
import { httpHookScenarios } from './http-hooks.ts'

const state = tempDir('roomcast-http-hooks-')
afterAll(() => removeDir(state))

// `authorize` is posted from the Worker, `message` from inside each room's Durable Object.
httpHookScenarios('cloudflare', (env) => startWrangler(env, state))
