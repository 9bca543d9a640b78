import { parse } from 'cookie';

/** A parsed Set-Cookie header, attribute names in lower case. */
export interface SetCookieLine {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

export function parseSetCookieLine(line: string): SetCookieLine {
  const [pair = '', ...rest] = line.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const part of rest) {
    const [key = '', ...value] = part.trim().split('=');
    attributes.set(key.toLowerCase(), value.join('='));
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

/**
 * The browser's part, as small as a test needs: keeps the cookies the answers set (a Max-Age=0
 * deletes) and writes them back as one Cookie header.
 */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  store(setCookie: string | string[] | undefined | null): SetCookieLine[] {
    const lines = setCookie == null ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
    const parsed = lines.map(parseSetCookieLine);
    for (const line of parsed) {
      if (line.attributes.get('max-age') === '0') this.cookies.delete(line.name);
      else this.cookies.set(line.name, line.value);
    }
    return parsed;
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  clone(): CookieJar {
    const copy = new CookieJar();
    for (const [k, v] of this.cookies) copy.cookies.set(k, v);
    return copy;
  }

  static parseHeader(header: string): Record<string, string | undefined> {
    return parse(header);
  }
}
