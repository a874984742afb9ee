/** Runtime quirks of incoming frame payloads, as pure functions. */

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
