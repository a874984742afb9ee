/**
 * The two names the wire protocol fixes, in a file with no imports so the
 * browser client can bundle them without the rest of the wire (index.ts
 * re-exports them; read it for the protocol).
 */

/** The subprotocol that selects json mode. */
export const SUBPROTOCOL = 'roomcast.v1'

const ROOM_NAME = /^[A-Za-z0-9_.-]{1,64}$/

/** Whether `name` is a valid room name: 1 to 64 of `A-Z a-z 0-9 _ . -`. */
export function isRoomName(name: string): boolean {
  return ROOM_NAME.test(name)
}
