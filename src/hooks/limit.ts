/**
 * The time limit every hook runs under (HOOK_TIMEOUT_MS), and the one place a
 * hook's failure is told apart from its answer: a hook is the application's
 * code, so what it throws is reported, never thrown on into a room or the process.
 */

/** A hook's outcome: its answer, or why there is none. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: 'hook_failed' | 'hook_timeout'; error: unknown }

/** The hook did not answer within its time limit. */
export class HookTimeout extends Error {
  constructor(
    readonly hook: string,
    readonly ms: number,
  ) {
    super(`roomcast: the application's ${hook} hook did not answer within ${ms} ms (HOOK_TIMEOUT_MS)`)
  }
}

/** An error a hook threw, with the hook's name for the log. */
export class HookError extends Error {
  constructor(
    readonly hook: string,
    readonly error: unknown,
  ) {
    super(`roomcast: the application's ${hook} hook failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
}

/**
 * Call `fn(arg)` and settle on its answer, or on `hook_timeout` after `ms`, or on `hook_failed` if it
 * throws or rejects. A synchronous answer settles without a timer.
 */
export function runHook<A, T>(name: string, fn: (arg: A) => T | Promise<T>, arg: A, ms: number): Outcome<T> | Promise<Outcome<T>> {
  let answer: T | Promise<T>
  try {
    answer = fn(arg)
  } catch (err) {
    return { ok: false, code: 'hook_failed', error: new HookError(name, err) }
  }
  if (!isThenable(answer)) return { ok: true, value: answer }
  return new Promise<Outcome<T>>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, code: 'hook_timeout', error: new HookTimeout(name, ms) }), ms)
    answer.then(
      (value) => {
        clearTimeout(timer)
        resolve({ ok: true, value })
      },
      (err: unknown) => {
        clearTimeout(timer)
        resolve({ ok: false, code: 'hook_failed', error: new HookError(name, err) })
      },
    )
  })
}

/** Run a notification hook (`joined`, `left`): its failures and timeouts go to `onError`, its answer nowhere. */
export function notify<A>(name: string, fn: (arg: A) => unknown, arg: A, ms: number, onError: (err: unknown) => void): void {
  const out = runHook(name, fn, arg, ms)
  if (isThenable(out)) out.then((o) => o.ok || onError(o.error))
  else if (!out.ok) onError(out.error)
}

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}
