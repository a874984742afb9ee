/** Event listeners for the client's classes: one copy of `on` and `emit`. */

/** A listener of one event type. */
export type Listener<T> = (event: T) => void

/** Listeners by event type. A listener that throws is reported like any uncaught error, and the others still run. */
export class Listeners<E> {
  private readonly sets = new Map<keyof E, Set<Listener<never>>>()

  /** Listen to `type`; returns a function that stops listening. */
  on<K extends keyof E>(type: K, fn: Listener<E[K]>): () => void {
    let set = this.sets.get(type)
    if (set === undefined) {
      set = new Set()
      this.sets.set(type, set)
    }
    set.add(fn)
    return () => void set.delete(fn)
  }

  /** Call every listener of `type` with `event` (those added meanwhile wait for the next one). */
  emit<K extends keyof E>(type: K, event: E[K]): void {
    const set = this.sets.get(type)
    if (set === undefined) return
    for (const fn of [...set]) {
      try {
        ;(fn as Listener<E[K]>)(event)
      } catch (err) {
        setTimeout(() => {
          throw err
        })
      }
    }
  }
}
