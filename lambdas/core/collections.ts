/**
 * The value of `key` in `map`, created by `create` and stored when missing.
 *
 * @example
 * getOrCreate(byRepository, 'web', () => []).push(item);
 */
export function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/** Sets `key` to `at` unless `map` holds a later time for it already. */
export function keepLatest<K>(map: Map<K, Date>, key: K, at: Date): void {
  const known = map.get(key);
  if (known === undefined || known.getTime() < at.getTime()) map.set(key, at);
}
