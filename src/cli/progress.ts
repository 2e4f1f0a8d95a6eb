/**
 * A progress line for long one-off commands (`berth gc`, `berth scrub`, `berth migrate`):
 * `gc  12/340 repositories  1.2 GiB  45.0 MiB/s  ETA 0:42`, redrawn in place at most ten times a
 * second on a terminal. With a byte total (migrate), the bytes read `1.2 GiB of 3.0 GiB` and the
 * ETA follows the bytes, which dominate the time, rather than the items. Not a terminal (a script, a pipe, a cron job): nothing at all, so output
 * stays exactly the report.
 */
import { formatBytes } from '../gc/report.js';

export interface ProgressOptions {
  /** What is counted: `repositories`. */
  readonly unit: string;
  /** What the bytes are: `re-hashed`, `freed`; undefined where only items are counted (records). */
  readonly bytesLabel?: string;
  /** Show the byte rate (default true; off where the bytes are counted, not moved: planning). */
  readonly rate?: boolean;
  readonly stream?: NodeJS.WriteStream;
  readonly now?: () => number;
}

/** `m:ss` or `h:mm:ss`. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/**
 * The progress line's text: items, bytes, byte rate, and an ETA from the pace of the bytes when
 * their total is known, else of the items.
 */
export function progressLine(
  label: string,
  options: { unit: string; bytesLabel?: string; rate?: boolean },
  state: { done: number; total: number; bytes: number; elapsedSeconds: number; totalBytes?: number },
): string {
  const { done, total, bytes, elapsedSeconds, totalBytes } = state;
  const counted = options.bytesLabel !== undefined;
  const byBytes = counted && totalBytes !== undefined && totalBytes > 0;
  const parts = [`${label}  ${done}/${total} ${options.unit}`];
  if (counted)
    parts.push(
      `${formatBytes(bytes)}${byBytes ? ` of ${formatBytes(totalBytes)}` : ''} ${options.bytesLabel}`,
    );
  if (counted && elapsedSeconds > 0 && options.rate !== false)
    parts.push(`${formatBytes(bytes / elapsedSeconds)}/s`);
  if (byBytes) {
    if (bytes > 0 && bytes < totalBytes)
      parts.push(`ETA ${formatEta((elapsedSeconds / bytes) * (totalBytes - bytes))}`);
  } else if (done > 0 && done < total) {
    parts.push(`ETA ${formatEta((elapsedSeconds / done) * (total - done))}`);
  }
  return parts.join('  ');
}

export class Progress {
  readonly #label: string;
  readonly #options: ProgressOptions;
  readonly #stream: NodeJS.WriteStream;
  readonly #now: () => number;
  readonly #started: number;
  readonly #active: boolean;
  #lastDraw = 0;
  #total = 0;
  #done = 0;
  #bytes = 0;
  #totalBytes: number | undefined;

  constructor(label: string, options: ProgressOptions) {
    this.#label = label;
    this.#options = options;
    this.#stream = options.stream ?? process.stderr;
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
    this.#active = this.#stream.isTTY === true;
  }

  /** `totalBytes`: the bytes the whole run will count, when known up front (the ETA then follows them). */
  start(total: number, totalBytes?: number): void {
    this.#total = total;
    this.#totalBytes = totalBytes;
    this.#draw(true);
  }

  /** Bytes done within an item still in progress (a large blob being copied). */
  advance(bytes: number): void {
    this.#bytes += bytes;
    this.#draw(false);
  }

  /** One more item done, with its bytes (not already counted by `advance`). */
  tick(bytes: number): void {
    this.#done++;
    this.#bytes += bytes;
    this.#draw(this.#done === this.#total);
  }

  /** Clears the line, so the report that follows starts on a clean one. */
  finish(): void {
    if (this.#active) this.#stream.write('\r\x1b[2K');
  }

  #draw(force: boolean): void {
    if (!this.#active) return;
    const now = this.#now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const line = progressLine(this.#label, this.#options, {
      done: this.#done,
      total: this.#total,
      bytes: this.#bytes,
      elapsedSeconds: (now - this.#started) / 1000,
      ...(this.#totalBytes === undefined ? {} : { totalBytes: this.#totalBytes }),
    });
    // A terminal of unknown size (0 columns: `script`, some CI runners) gets the usual width.
    const width = this.#stream.columns || 100;
    this.#stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, width - 1))}`);
  }
}
