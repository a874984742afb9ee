/**
 * The server-side API an application calls on its instance (`rc.publish`,
 * `rc.stats`, `rc.rooms`, `rc.disconnect`): its own code reaching rooms
 * without a socket. Over a Hub here; over the room objects' RPC on Cloudflare
 * (adapters/cloudflare).
 */
import { Rejected } from '../hooks/hooks.ts'
import { entryOf } from '../hooks/message.ts'
import type { MemberFilter, RoomStats } from '../room/room.ts'
import type { ErrorCode } from '../wire/errors.ts'
import { Errors } from '../wire/errors.ts'
import { isRoomName } from '../wire/names.ts'
import { Refusals } from '../wire/refusals.ts'
import type { Hub } from './hub.ts'

/** Options of `rc.publish`. */
export interface PublishOptions {
  /** Shown as `from` to json members (1 to 256 characters); default none. */
  from?: string
}

/** One room of this instance, as `rc.rooms()` lists it. */
export interface RoomSummary {
  room: string
  /** Members on this instance. */
  connections: number
}

/** The server-side API of an instance. */
export interface RoomsApi {
  /**
   * Publish `data` to `room` as the application (a string is sent as text, bytes as binary, anything else as
   * JSON), without the `message` hook; resolves with its seq. Rejects with Unavailable when the backend is down,
   * and with Rejected (`too_many_rooms`) when it would open a room past MAX_ROOMS.
   */
  publish(room: string, data: unknown, options?: PublishOptions): Promise<number>
  /** The room's counts and position (`GET /rooms/:room`), across instances where the backend spans them. */
  stats(room: string): Promise<RoomStats>
  /** This instance's open rooms with their member counts. */
  rooms(): RoomSummary[]
  /** Close the members of `room` on this instance with that `sub` or connection id (code default `kicked`, 4002); resolves with how many. */
  disconnect(room: string, who: MemberFilter, code?: ErrorCode): Promise<number>
}

/** A room name the application passed, checked: a bad one is a bug in the caller, so it throws. */
export function checkRoom(room: string): void {
  if (!isRoomName(room)) throw new RangeError(`roomcast: ${JSON.stringify(room)} is not a room name (1 to 64 of A-Z a-z 0-9 _ . -)`)
}

/** A disconnect's target and code, checked: at least one of `sub` and `connectionId`, and a code that closes. */
export function checkDisconnect(who: MemberFilter, code: ErrorCode): void {
  if (who.sub === undefined && who.connectionId === undefined) throw new TypeError('roomcast: disconnect needs a sub or a connectionId')
  if (!Object.hasOwn(Errors, code) || Errors[code].close === null) throw new RangeError(`roomcast: ${code} is not a code that closes a connection`)
}

/** The entry `rc.publish` makes of `data`; throws on data that cannot be one (a bug in the caller). */
export function publishEntry(data: unknown, maxBytes: number): ReturnType<typeof entryOf> & object {
  const e = entryOf(data, maxBytes)
  if (typeof e === 'string') throw new RangeError(`roomcast: publish: the data ${e}`)
  return e
}

/** The server-side API over this process's Hub. */
export function hubApi(hub: Hub): RoomsApi {
  return {
    async publish(room, data, options = {}) {
      checkRoom(room)
      const { kind, body } = publishEntry(data, hub.config.maxFrameBytes)
      // MAX_ROOMS holds for the application's publishes too: a room it would open past it is refused.
      if (!hub.canOpen(room)) throw new Rejected('too_many_rooms', Refusals.too_many_rooms.message, Refusals.too_many_rooms.status)
      return hub.room(room).publish(kind, body, options.from, undefined, false, 'server')
    },
    async stats(room) {
      checkRoom(room)
      return hub.stats(room)
    },
    rooms() {
      const out: RoomSummary[] = []
      for (const r of hub.openRooms()) out.push({ room: r.name, connections: r.size })
      return out
    },
    async disconnect(room, who, code = 'kicked') {
      checkRoom(room)
      checkDisconnect(who, code)
      return hub.peek(room)?.disconnect(who, code) ?? 0
    },
  }
}
