/** Structured JSON logs (pino) to stdout or `log.output`. Secrets never reach a log call. */
import { pino, type Logger } from 'pino';

export interface LogOptions {
  level: string;
  output?: string | undefined;
}

export function createLogger(options: LogOptions): Logger {
  const destination = options.output
    ? pino.destination({ dest: options.output, mkdir: true, sync: false })
    : pino.destination({ fd: 1, sync: false });
  // A reader of our stdout that went away must not take the server (or its shutdown) with it.
  destination.on('error', () => undefined);
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: should a header object ever be logged, its secrets are not.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.apiKey', '*.clientsecret'], censor: '[redacted]' },
    },
    destination,
  );
}
