/**
 * The small JSONPath subset the target file needs: `$`, `.name`, `['name']`, `[index]`.
 * Returns `undefined` when the path does not resolve.
 *
 * @example readJsonPath({ a: [{ b: 1 }] }, '$.a[0].b') // 1
 */
export function readJsonPath(document: unknown, path: string): unknown {
  const steps = parseJsonPath(path);
  if (steps === null) return undefined;
  let current: unknown = document;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/** Splits a path into keys and indexes, or `null` when the syntax is not supported. */
export function parseJsonPath(path: string): (string | number)[] | null {
  if (!path.startsWith('$')) return null;
  const steps: (string | number)[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/gy;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (m === null) return null;
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else steps.push(m[3] ?? m[4] ?? '');
  }
  return steps;
}
