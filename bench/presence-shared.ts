/** What both presence-storm benches share: the room's size and settings, and connections that count presence frames. */
import type { Connection } from '../src/index.ts'
import { defaults } from '../src/index.ts'

/** `--max=N`: PRESENCE_MAX_MEMBERS (default the server's). */
export const max = Number(process.argv.find((a) => a.startsWith('--max='))?.split('=')[1] ?? defaults.presenceMaxMembers)
/** Members before the storm, and how many join and leave in it. */
export const N = 5000
export const STORM = 500
/** The server's defaults, with room for the storm and a publish burst. */
export const config = { ...defaults, presenceMaxMembers: max, maxRoomConnections: 100_000, rateBurst: 1000 }
/** What the counting connections saw while `counter.on`: presence frames and bytes, rosters (`members`) and diffs. */
export const totals = { frames: 0, bytes: 0, states: 0, stateBytes: 0, diffs: 0 }
/** Count only while on (the storm, not the room filling up). */
export const counter = { on: false }

/** A connection that counts the presence frames it is sent and drops everything else. */
export class Counting implements Connection {
  send(data: string | Uint8Array): void {
    if (!counter.on || typeof data !== 'string' || !data.startsWith('{"type":"presence"')) return
    totals.frames++
    totals.bytes += data.length
    if (data.includes('"members"')) {
      totals.states++
      totals.stateBytes += data.length
    } else totals.diffs++
  }
  close(): void {}
  bufferedAmount(): number {
    return 0
  }
}

/** Wait `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** A token expiry far past the bench. */
export const exp = Date.now() + 3_600_000
