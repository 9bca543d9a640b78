/**
 * `{{placeholder}}` rendering for request templates. Known names: `username`, `password`,
 * `new_password`, `random`, `value` (inside a presentation template), `env.NAME`, and the name of
 * any credential declared in the target.
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/g;

/** Every placeholder name used in a string, in order. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

/**
 * Replaces each placeholder; `env.NAME` reads `env`. A name without a value renders as an empty
 * string and is reported through `missing` so the caller can decide whether that is an error.
 *
 * @example renderTemplate('Bearer {{value}}', { value: 'abc' }, {}) // 'Bearer abc'
 */
export function renderTemplate(
  template: string,
  vars: Readonly<Record<string, string | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
  missing?: string[],
): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = name.startsWith('env.') ? env[name.slice(4)] : vars[name];
    if (value === undefined) {
      missing?.push(name);
      return '';
    }
    return value;
  });
}

/** Renders every string inside a JSON value (keys stay as written). */
export function renderJson(
  value: unknown,
  vars: Readonly<Record<string, string | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
  missing?: string[],
): unknown {
  if (typeof value === 'string') return renderTemplate(value, vars, env, missing);
  if (Array.isArray(value)) return value.map((v) => renderJson(v, vars, env, missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, renderJson(v, vars, env, missing)]),
    );
  }
  return value;
}

/** Every string inside a JSON value, for static placeholder checks. */
export function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsOf);
  return [];
}
