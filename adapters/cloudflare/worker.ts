/** The standalone Worker (`wrangler dev`, `npm run deploy`): roomcast/cloudflare at the root, rooms bound as ROOMS. */
import { createRoomcast } from './index.ts'

const rc = createRoomcast({ binding: 'ROOMS' })

/** The room Durable Object, under the class name wrangler.toml declares. */
export class RoomObject extends rc.Room {}

export default rc.app
