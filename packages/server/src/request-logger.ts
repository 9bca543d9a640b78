import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * The logger of one request: the pino child Fastify would make (the request id bound, the
 * route's level and serializers), made on the first line actually written. Fastify makes that
 * child for every request before any hook runs; with request logging off (the default) almost
 * no request writes a line, and the child (a prototype chain plus its serialized bindings) was a
 * measurable share of `GET /v1/session` (bench/README.md). A line that is written is the line
 * the eager child would have written, request id included; a call below the level makes
 * nothing and writes nothing.
 */
class LazyRequestLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  #child: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #logger(): FastifyBaseLogger {
    if (this.#child === undefined) this.#child = this.#parent.child(this.#bindings, this.#options);
    return this.#child;
  }

  /** Whether a line at `level` would be written, without making the child to find out. */
  #writes(level: Level): boolean {
    if (this.#child !== undefined || this.#options.level !== undefined) return true;
    const parent = this.#parent as FastifyBaseLogger & { isLevelEnabled?(level: string): boolean };
    return parent.isLevelEnabled?.(level) ?? true;
  }

  get level(): LevelWithSilentOrString {
    return this.#child?.level ?? this.#options.level ?? this.#parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#logger().level = level;
  }

  // Methods on the prototype, not per-instance closures: a request that logs nothing should
  // allocate nothing but this object.
  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }

  #write(level: Level, args: unknown[]): void {
    if (!this.#writes(level)) return;
    const logger = this.#logger();
    (logger[level] as (...a: unknown[]) => void).apply(logger, args);
  }
}

/**
 * Fastify's `childLoggerFactory` that hands each request a `LazyRequestLogger`.
 *
 * @example
 * Fastify({ loggerInstance, childLoggerFactory: lazyChildLogger });
 */
export function lazyChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}
