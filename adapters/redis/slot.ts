/**
 * Redis Cluster's key slot (CRC16/XMODEM of the key, or of its `{hash tag}`,
 * modulo 16384), so an instance knows which shard carries a room's channel
 * before it subscribes. The same function Redis runs (cluster.c, keyHashSlot).
 */

const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let c = i << 8
  for (let k = 0; k < 8; k++) c = c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1
  TABLE[i] = c & 0xffff
}

const encoder = new TextEncoder()

function crc16(bytes: Uint8Array, from: number, to: number): number {
  let crc = 0
  for (let i = from; i < to; i++) crc = ((crc << 8) ^ (TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number)) & 0xffff
  return crc
}

/** The cluster slot (0..16383) of `key`: only the first `{...}` with something inside counts, if there is one. */
export function keySlot(key: string): number {
  const bytes = encoder.encode(key)
  const open = bytes.indexOf(0x7b)
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1)
    if (close > open + 1) return crc16(bytes, open + 1, close) & 16383
  }
  return crc16(bytes, 0, bytes.length) & 16383
}
