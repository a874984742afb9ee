/** Runtime quirks of what a runtime hands over for a frame (its payload, a peer's close code), as pure functions. */

/**
 * Turn what a runtime hands us as a message into text (string) or bytes.
 * Node and Bun give ArrayBuffer or a Buffer view for binary; Deno and Workers
 * give ArrayBuffer once `binaryType` is "arraybuffer". A Blob cannot be read
 * synchronously, so adapters must set `binaryType` first; null means "unusable".
 */
export function normaliseFrame(data: unknown): string | Uint8Array | null {
  if (typeof data === 'string') return data
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return null
}

/**
 * The code to answer a peer's Close frame with. A runtime that leaves the reply
 * to us (Cloudflare before `web_socket_auto_reply_to_close`) refuses to send
 * the codes that only describe a close (1005 none given, 1006 abnormal, 1015
 * TLS), and an unanswered Close leaves the client waiting, so those become 1000.
 */
export function replyCloseCode(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 ? 1000 : code
}
