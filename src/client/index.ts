/** The roomcast client's public surface: import from here (browsers get it as /client/roomcast.js). */

export type { MessageFrame, PresenceFrame, WelcomeFrame } from '../wire/frames.ts'
export type { ClientErrorCode, ClientEvents, ClientOptions, ConnectionState, ErrorDetails, Missed, StateChange } from './client.ts'
export { RoomcastClient, RoomcastError } from './client.ts'
export type { ConnectionOptions, PresenceState, SubscribeOptions, SubscriptionEvents } from './connection.ts'
export { RoomcastConnection, Subscription } from './connection.ts'
