/** The roomcast client's public surface: import from here (browsers get it as /client/roomcast.js). */
export { RoomcastClient, RoomcastError } from './client.ts'
export type { ClientErrorCode, ClientEvents, ClientOptions, ConnectionState, ErrorDetails, Missed, StateChange } from './client.ts'
export type { MessageFrame, PresenceFrame, WelcomeFrame } from '../wire/frames.ts'
