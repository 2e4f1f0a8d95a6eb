/** Structured JSON logs (pino) to stdout or `log.output`. Secrets never reach a log call. */
import { pino, type Logger } from 'pino';

export interface LogOptions {
  level: string;
  output?: string | undefined;
  /** Human-readable lines on stderr instead of JSON on stdout (a terminal; never with `output`). */
  human?: { write(chunk: string): boolean } | undefined;
}

/** How long the final flush at exit may wait for a log reader that stopped reading. */
const EXIT_FLUSH_GRACE_MS = 2_000;

export function createLogger(options: LogOptions): Logger {
  // pino flushes synchronously at exit and, while the reader's pipe is full (EAGAIN), retries
  // forever: a supervisor that stopped reading our stdout would make the process unkillable by
  // SIGTERM. Past a short grace, the last lines are dropped instead. Registered before the
  // destination exists so that it runs before pino's own exit flush.
  let giveUpAt: number | undefined;
  process.once('exit', () => {
    giveUpAt ??= Date.now() + EXIT_FLUSH_GRACE_MS;
  });
  const retryEAGAIN = (): boolean => giveUpAt === undefined || Date.now() < giveUpAt;
  // Likewise, lines waiting for a stalled reader are held in memory only up to a bound.
  const common = { sync: false, retryEAGAIN, maxLength: 16 * 1024 * 1024 };
  const file =
    options.output !== undefined || options.human === undefined
      ? options.output
        ? pino.destination({ dest: options.output, mkdir: true, ...common })
        : pino.destination({ fd: 1, ...common })
      : undefined;
  // A reader of our stdout that went away must not take the server (or its shutdown) with it.
  file?.on('error', () => undefined);
  const destination = file ?? options.human!;
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: should a header object ever be logged, its secrets are not.
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.apiKey',
          '*.clientsecret',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
