/**
 * The two names the wire protocol fixes, in a file with no imports so the
 * browser client can bundle them without the rest of the wire (index.ts
 * re-exports them; read it for the protocol).
 */

/** The subprotocol that selects json mode. */
export const SUBPROTOCOL = 'roomcast.v1'

/** The subprotocol of protocol v2: many rooms over one connection (wire/v2.ts). */
export const SUBPROTOCOL_V2 = 'roomcast.v2'

const ROOM_NAME = /^[A-Za-z0-9_.-]{1,64}$/

/** What a room name may be, in words (the `bad_room` refusal and the client's error). */
export const ROOM_NAME_RULE = 'room names are 1 to 64 of A-Z a-z 0-9 _ . -, other than . and ..'

/**
 * Whether `name` is a valid room name: 1 to 64 of `A-Z a-z 0-9 _ . -`, other
 * than `.` and `..`, which a URL parser resolves away (`/rooms/..` is `/`):
 * such a room would be reachable only by clients that send paths unresolved.
 */
export function isRoomName(name: string): boolean {
  return ROOM_NAME.test(name) && !isDotSegment(name)
}

/** Whether a path segment is `.` or `..`, in any spelling a URL parser resolves (`%2e`, `%2E`). */
export function isDotSegment(segment: string): boolean {
  const s = segment.toLowerCase()
  return s === '.' || s === '..' || s === '%2e' || s === '.%2e' || s === '%2e.' || s === '%2e%2e'
}
