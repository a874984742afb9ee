/** Element `i` of `list` (negative counts from the end); throws when there is none, since in a test a missing element is a bug, not a value. */
export function at<T>(list: ArrayLike<T>, i: number): T {
  const value = list[i < 0 ? list.length + i : i]
  if (value === undefined) throw new Error(`expected an element at index ${i}, but the list has ${list.length}`)
  return value
}

/** `value`, or a thrown error naming `what` when it is null or undefined: in a test, that absence is a bug. */
export function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}, got ${value}`)
  return value
}
