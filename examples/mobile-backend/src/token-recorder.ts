/**
 * A `fetch` for the phone's SDK that notes every token that goes over the wire (the
 * `Authorization` header, `refresh_token` and `token` form fields, token answers), so that the
 * transcript can show at the end that every token the phone ever held is refused. Tokens stay in
 * memory; the transcript prints only how many there were.
 */
export interface TokenRecorder {
  fetch: typeof fetch;
  /** Every token seen, in the order first seen. */
  readonly tokens: Set<string>;
  /** Notes the tokens of a token answer the phone got elsewhere (the backend's sign-in). */
  noteAnswer(answer: unknown): void;
}

const TOKEN = /^ts[ar]_[0-9A-Za-z]+$/;

export function tokenRecorder(base: typeof fetch = globalThis.fetch): TokenRecorder {
  const tokens = new Set<string>();
  const note = (value: unknown) => {
    if (typeof value === 'string' && TOKEN.test(value)) tokens.add(value);
  };
  const noteAnswer = (answer: unknown) => {
    if (typeof answer !== 'object' || answer === null) return;
    const a = answer as Record<string, unknown>;
    note(a.access_token);
    note(a.refresh_token);
  };
  const recording: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    note(request.headers.get('authorization')?.split(' ')[1]);
    if (request.headers.get('content-type')?.startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(await request.clone().text());
      note(form.get('refresh_token'));
      note(form.get('token'));
    }
    const response = await base(request);
    if (response.headers.get('content-type')?.includes('application/json')) {
      noteAnswer(
        await response
          .clone()
          .json()
          .catch(() => null),
      );
    }
    return response;
  };
  return { fetch: recording, tokens, noteAnswer };
}
