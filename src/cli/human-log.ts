/**
 * Log lines for a person at a terminal: `12:04:31 INFO  listening  url=http://127.0.0.1:5000`,
 * coloured by level, instead of JSON. Only when stderr is a terminal (and `BERTH_LOG_FORMAT` does
 * not say `json`); supervisors, pipes and files always get pino's JSON, one object a line.
 */
const LEVELS: Readonly<Record<number, [string, string]>> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
const HIDDEN = new Set(['level', 'time', 'pid', 'msg', 'hostname']);

/** Whether logs should be human-readable: stderr is a terminal, unless `BERTH_LOG_FORMAT` decides. */
export function wantsHumanLogs(
  env: NodeJS.ProcessEnv = process.env,
  tty = process.stderr.isTTY === true,
): boolean {
  const format = env.BERTH_LOG_FORMAT?.toLowerCase();
  if (format === 'json') return false;
  if (format === 'pretty' || format === 'human') return true;
  return tty;
}

function show(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null && 'message' in value && typeof value.message === 'string')
    return JSON.stringify(value.message);
  return JSON.stringify(value);
}

/** One JSON log line as one human line (or the line unchanged when it is not JSON). */
export function humanLine(line: string, colour: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const [label, tint] = LEVELS[record.level as number] ?? ['LOG  ', ''];
  const time = typeof record.time === 'string' ? record.time.slice(11, 19) : '';
  const fields = Object.entries(record)
    .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${show(value)}`)
    .join(' ');
  const msg = typeof record.msg === 'string' ? record.msg : '';
  return colour
    ? `${DIM}${time}${RESET} ${tint}${label}${RESET} ${msg}${fields ? `  ${DIM}${fields}${RESET}` : ''}\n`
    : `${time} ${label} ${msg}${fields ? `  ${fields}` : ''}\n`;
}

/** A pino destination that writes human lines to stderr. */
export function humanDestination(stream: NodeJS.WriteStream = process.stderr): {
  write(chunk: string): boolean;
} {
  const colour = stream.isTTY === true && process.env.NO_COLOR === undefined;
  let pending = '';
  return {
    write(chunk: string): boolean {
      pending += chunk;
      let end: number;
      let out = '';
      while ((end = pending.indexOf('\n')) !== -1) {
        out += humanLine(pending.slice(0, end), colour);
        pending = pending.slice(end + 1);
      }
      return out === '' ? true : stream.write(out);
    },
  };
}
