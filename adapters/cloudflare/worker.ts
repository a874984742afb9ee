/** The standalone Worker (`wrangler dev`, `npm run deploy`): roomcast/cloudflare at the root, rooms bound as ROOMS. */
import { env } from 'cloudflare:workers'
import { httpHooksFromEnv, readConfig } from '../../src/index.ts'
import { createRoomcast } from './index.ts'

// HOOK_URL among the Worker's [vars]: `authorize` is POSTed from the Worker, `message` from the room's object.
const vars = env as Record<string, string | undefined>
const rc = createRoomcast({ binding: 'ROOMS', hooks: httpHooksFromEnv(vars, readConfig(vars)) })

/** The room Durable Object, under the class name wrangler.toml declares. */
export class RoomObject extends rc.Room {}

/** The room registry rooms report to, for the admin API (the REGISTRY binding). */
export { RegistryObject } from './index.ts'

export default rc.app
