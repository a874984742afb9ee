/**
 * Print a token for the configured AUTH_SECRET, for trying roomcast out:
 *   T=$(AUTH_SECRET=... npm run -s token -- --room demo --pub --ttl 1h [--sub alice])
 * `--room` repeats and takes `prefix*` patterns. Only the token goes to stdout (`-s` keeps npm's own
 * lines out of it), so it can be captured; reasons for refusing go to stderr, with exit code 2.
 */
import { parseArgs } from 'node:util'
import { ConfigError, MAX_SUB_LENGTH, isRoomPattern, mintToken, readAccess } from '../src/index.ts'

const USAGE = 'usage: npm run -s token -- --room NAME [--room prefix*]... [--pub] [--sub NAME] [--ttl 1h]'

const HELP = `${USAGE}

Prints a token (a JWT signed with AUTH_SECRET, HS256) that the server verifies, and nothing else on stdout:
  T=$(AUTH_SECRET=... npm run -s token -- --room demo --pub)

  --room NAME    a room the token grants; repeat for more; "prefix*" grants every room starting with prefix
  --pub          the token may publish too (default: join and read only)
  --sub NAME     who the holder is (1 to ${MAX_SUB_LENGTH} characters); members see it as "from" on their messages
  --ttl TIME     how long it is valid: seconds, or a number with s, m, h or d (default 1h)
  -h, --help     print this and exit

Pass the token to a WebSocket as ?token=T or as a second subprotocol after roomcast.v1, to HTTP as
Authorization: Bearer T, or to the chat page as ?token=T.
`
/** `90`, `90s`, `15m`, `1h`, `7d` as seconds; NaN when it is none of these. */
function parseTtl(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim())
  if (m === null) return NaN
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd']
}

function fail(message: string): never {
  console.error(`roomcast token: ${message}\n${USAGE}`)
  process.exit(2)
}

/** The parsed flags; a flag parseArgs refuses ends the process with the usage. */
function readArgs() {
  try {
    return parseArgs({
      options: {
        room: { type: 'string', multiple: true },
        pub: { type: 'boolean', default: false },
        sub: { type: 'string' },
        ttl: { type: 'string', default: '1h' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values
  } catch (err) {
    return fail((err as Error).message)
  }
}
const args = readArgs()
// Asked for, so it is the output (stdout), and nothing is wrong (exit 0).
if (args.help) {
  process.stdout.write(HELP)
  process.exit(0)
}

let secret: string | undefined
try {
  secret = readAccess(process.env).authSecret
} catch (err) {
  if (err instanceof ConfigError) fail(err.message)
  throw err
}
if (secret === undefined) fail('set AUTH_SECRET to the server\'s secret (tokens for AUTH_JWKS_URL or AUTH_PUBLIC_KEY come from your issuer)')
const rooms = args.room ?? []
if (rooms.length === 0) fail('give at least one --room')
for (const r of rooms) if (!isRoomPattern(r)) fail(`"${r}" is neither a room name nor a "prefix*" pattern`)
if (args.sub !== undefined && (args.sub.length === 0 || args.sub.length > MAX_SUB_LENGTH)) fail(`--sub must be 1 to ${MAX_SUB_LENGTH} characters`)
const ttl = parseTtl(args.ttl)
if (!(ttl > 0)) fail(`--ttl ${args.ttl}: use seconds or a number with s, m, h or d`)

console.log(await mintToken(secret, { rooms, pub: args.pub, sub: args.sub, ttlSeconds: ttl }))
