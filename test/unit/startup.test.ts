import { afterEach, describe, expect, it, vi } from 'vitest'
import { startup } from '../../src/index.ts'

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`)
  }
}
const exit = (code: number): never => {
  throw new Exited(code)
}

/** What `run` printed to stderr and the code it exited with. */
function outcome(run: () => unknown): { code: number | undefined; errors: unknown[][] } {
  const error = vi.spyOn(console, 'error').mockImplementation(() => {})
  let code: number | undefined
  try {
    run()
  } catch (err) {
    if (!(err instanceof Exited)) throw err
    code = err.code
  }
  const errors = [...error.mock.calls]
  error.mockRestore()
  return { code, errors }
}

afterEach(() => vi.restoreAllMocks())

describe('startup', () => {
  it('reads config and listen settings', () => {
    const s = startup({ PORT: '0', HOST: '127.0.0.1', RATE_LIMIT: '7' }, exit)
    expect(s.listen).toEqual({ port: 0, hostname: '127.0.0.1' })
    expect(s.config.rateLimit).toBe(7)
  })

  it('ends the process with one line for a bad setting', () => {
    expect(outcome(() => startup({ PORT: 'x' }, exit))).toEqual({ code: 1, errors: [['roomcast: cannot start: PORT=x must be a positive integer']] })
  })

  it('refuses scale-out variables where the runtime has no scale-out', () => {
    expect(startup({ REDIS_URL: 'redis://h' }, exit).config).toBeDefined()
    const { code, errors } = outcome(() => startup({ REDIS_URL: 'redis://h' }, exit, { scaleOut: false }))
    expect(code).toBe(1)
    expect(errors).toEqual([[expect.stringMatching(/^roomcast: cannot start: REDIS_URL is set, but this runtime cannot share rooms/)]])
  })

  it('says in one line why it cannot listen, by the error code of each runtime', () => {
    const s = startup({ HOST: 'h.example', PORT: '80' }, exit)
    const fails = (err: unknown) =>
      outcome(() =>
        s.listening(() => {
          throw err
        }),
      )
    const line = (why: string) => ({ code: 1, errors: [[`roomcast: cannot listen on HOST=h.example PORT=80: ${why}`]] })
    expect(fails(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }))).toEqual(line('the port is already in use'))
    expect(fails(Object.assign(new Error('listen EACCES'), { code: 'EACCES' }))).toEqual(line('permission denied (a port below 1024 needs privileges)'))
    expect(fails(Object.assign(new Error('EINVAL'), { code: 'EINVAL' }))).toEqual(line('HOST does not resolve to an address'))
    expect(fails(new Error('failed to lookup address information: Name or service not known'))).toEqual(line('HOST does not resolve to an address'))
    expect(fails(new Error('something else'))).toEqual(line('something else'))
  })

  it('keeps the stack of an error that is not a setting: a bug', () => {
    const s = startup({}, exit)
    const bug = new TypeError('x is undefined')
    expect(outcome(() => s.fail(bug))).toEqual({ code: 1, errors: [[bug]] })
  })
})
