/** A stable hash of an HTTP publish, stored with its Idempotency-Key so a reuse for another body is told apart (422). */
import { toBase64 } from '../wire/bytes.ts'

/** SHA-256 (WebCrypto, on every runtime) of the content type and the body as sent, in base64. */
export async function bodyHash(type: string, text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${type}\n${text}`))
  return toBase64(new Uint8Array(digest))
}
