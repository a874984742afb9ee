/** The opaque cursor of `GET /admin/rooms`: the last room name of a page, so the next starts after it. */
import { isRoomName } from '../wire/names.ts'

const PREFIX = 'r1:'

/** The cursor that continues after `room`. */
export function encodeCursor(room: string): string {
  return btoa(PREFIX + room)
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
}

/** The room name a cursor continues after; null when it is not a cursor this server made. */
export function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(cursor)) return null
  let text: string
  try {
    text = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))
  } catch {
    return null
  }
  if (!text.startsWith(PREFIX)) return null
  const room = text.slice(PREFIX.length)
  return isRoomName(room) ? room : null
}
