/**
 * Start-up of a long-running server (Node, Deno, Bun), the same on each: settings read once, look-alike
 * variables warned about, and a failure an operator can fix (a bad setting, a port in use, a HOST that
 * does not resolve) told in one line, exit 1. Anything else is a bug and keeps its stack.
 */
import type { Config, Listen } from '../config/config.ts'
import { ConfigError } from '../config/config-error.ts'
import { readConfig, readListen } from '../config/config.ts'
import { lookalikeWarnings, scaleOutEnvNames } from '../config/env-names.ts'

/** How the runtime ends the process. */
export type Exit = (code: number) => never

export interface StartupOptions {
  /** False where the runtime cannot share rooms across instances yet (Bun): a scale-out variable is a ConfigError. */
  scaleOut?: boolean
}

/** A server's settings, and how it gives up while starting. */
export interface Startup {
  config: Config
  listen: Listen
  /** End the process for an error while starting: one line for a ConfigError, the stack for anything else. */
  fail(err: unknown): never
  /** End the process because the server could not listen, in one line that says why. */
  cannotListen(err: unknown): never
  /** Run the runtime's (synchronous) listen call; if it throws, `cannotListen`. */
  listening<T>(listen: () => T): T
}

/** Read the settings from `env` and print a warning for each look-alike variable; a bad setting ends the process. */
export function startup(env: Record<string, string | undefined>, exit: Exit, options: StartupOptions = {}): Startup {
  for (const line of lookalikeWarnings(env)) console.warn(line)
  const fail = (err: unknown): never => {
    console.error(err instanceof ConfigError ? `roomcast: cannot start: ${err.message}` : err)
    return exit(1)
  }
  let config: Config
  let listen: Listen
  try {
    if (options.scaleOut === false) refuseScaleOut(env)
    config = readConfig(env)
    listen = readListen(env)
  } catch (err) {
    return fail(err)
  }
  const cannotListen = (err: unknown): never => {
    console.error(`roomcast: cannot listen on HOST=${listen.hostname} PORT=${listen.port}: ${listenProblem(err, listen.hostname)}`)
    return exit(1)
  }
  const listening = <T>(start: () => T): T => {
    try {
      return start()
    } catch (err) {
      return cannotListen(err)
    }
  }
  return { config, listen, fail, cannotListen, listening }
}

function refuseScaleOut(env: Record<string, string | undefined>): void {
  for (const name of scaleOutEnvNames) {
    if (env[name] !== undefined && env[name] !== '') {
      throw new ConfigError(`${name} is set, but this runtime cannot share rooms across instances yet; unset it, or run Node or Deno`)
    }
  }
}

// What each runtime's listen error means, by its code (Node and Bun set `code`; Deno's errors carry it too).
const LISTEN_PROBLEMS = {
  EADDRINUSE: 'the port is already in use',
  EADDRNOTAVAIL: 'HOST is not an address of this machine',
  EACCES: 'permission denied (a port below 1024 needs privileges)',
  ENOTFOUND: 'HOST does not resolve to an address',
  EAI_AGAIN: 'HOST could not be resolved (DNS did not answer)',
  EINVAL: 'HOST is not a usable address',
} as const satisfies Record<string, string>

/** Why listening on `hostname` failed, in words; the runtime's own message where its error has no known code. */
function listenProblem(err: unknown, hostname: string): string {
  let code = (err as { code?: unknown } | null)?.code
  // Bun's answer for a host name it cannot resolve.
  if (code === 'EINVAL' && !/^[\d.]+$|:/.test(hostname)) code = 'ENOTFOUND'
  if (typeof code === 'string' && code in LISTEN_PROBLEMS) return LISTEN_PROBLEMS[code as keyof typeof LISTEN_PROBLEMS]
  const message = err instanceof Error ? err.message : String(err)
  // Deno's resolver error has no code.
  if (/failed to lookup address/i.test(message)) return LISTEN_PROBLEMS.ENOTFOUND
  return message
}
