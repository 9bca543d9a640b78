import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

/** pino options, plus where the lines go (default: standard output). */
export type ServerLoggerOptions = LoggerOptions & {
  /** Receives each finished log line (for example a file, or a test's capture). */
  stream?: DestinationStream;
};

/**
 * Anything shaped like a Tessera credential, also with its `_` percent-encoded as it would be in
 * a URL. Kept in sync with the token format of @tessera/core (`tsa_`/`tsr_`/`tsk_` + base62).
 */
const CREDENTIAL = /ts([akr])(?:_|%5[Ff])[0-9A-Za-z]+/g;

/**
 * Replaces every credential-shaped substring with its prefix and `[redacted]`.
 *
 * @example
 * maskCredentials('GET /x?q=tsa_4kQ…'); // 'GET /x?q=tsa_[redacted]'
 */
export function maskCredentials(text: string): string {
  return text.replace(CREDENTIAL, 'ts$1_[redacted]');
}

/**
 * The last line of defence: every serialized log line passes through `maskCredentials` before it
 * is written, whatever logged it (Fastify, a plugin, an error message quoting a body, a future
 * log call with a careless object). Redaction by path below is the first line; this one does not
 * depend on knowing the path.
 */
function maskingStream(target: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      // Fast path: most lines contain no "ts?_" at all.
      target.write(line.includes('ts') ? maskCredentials(line) : line);
    },
  };
}

/**
 * The pino logger of the server: `req.headers.authorization` and cookies are redacted by path,
 * bodies are never logged, request URLs are logged without their query string, and every line
 * is masked for credential-shaped text.
 *
 * @example
 * const lines: string[] = [];
 * const logger = createLogger({ level: 'trace', stream: { write: (l) => lines.push(l) } });
 */
export function createLogger(options: ServerLoggerOptions = {}): Logger {
  const { stream, redact, serializers, level = 'info', ...rest } = options;
  const paths = [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers["proxy-authorization"]',
    'req.body',
    'res.headers["set-cookie"]',
  ];
  const extra = Array.isArray(redact) ? redact : (redact?.paths ?? []);
  return pino(
    {
      ...rest,
      level,
      redact: { paths: [...paths, ...extra], censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({
          method: req.method,
          // A query string is never needed to operate the service and is where a careless
          // client puts a token: drop it.
          url: req.url?.split('?', 1)[0],
          remoteAddress: req.ip,
        }),
        ...serializers,
      },
    },
    maskingStream(stream ?? pino.destination({ dest: 1, sync: true })),
  );
}
