/**
 * Go's duration syntax (`time.ParseDuration`), which zot's config uses for every interval and delay:
 * a sequence of decimal numbers, each with a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), optionally
 * signed, e.g. `"300ms"`, `"1.5h"`, `"1h30m"`. A bare `"0"` is allowed. There is no day unit.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration and returns it in milliseconds (fractional for sub-millisecond values).
 * Negative durations parse (Go accepts them); callers that need `>= 0` check it themselves.
 *
 * @throws Error with a message that quotes the text and says what is wrong.
 */
export function parseDuration(text: string): number {
  const fail = (why: string): never => {
    throw new Error(`invalid duration ${JSON.stringify(text)}: ${why}`);
  };
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') fail('expected a number with a unit, such as "1h" or "300s"');

  let total = 0;
  while (rest !== '') {
    // Like Go: a number is digits with an optional fraction, and the unit is every character up
    // to the next digit or dot, looked up as a whole (so "1hour" is an unknown unit, not "1h").
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest);
    const whole = number?.[1] ?? '';
    const fraction = number?.[2] ?? '';
    const numberText = number?.[0] ?? '';
    if (whole === '' && fraction === '') fail('expected a number with a unit, such as "1h" or "300s"');
    rest = rest.slice(numberText.length);
    const unit = /^[^\d.]*/.exec(rest)?.[0] ?? '';
    if (unit === '') fail(`missing unit after ${JSON.stringify(numberText)} (units: ns, us, ms, s, m, h)`);
    const unitMs = UNIT_MS[unit];
    if (unitMs === undefined) {
      const hint = unit === 'd' ? '; Go durations have no day unit, write "24h"' : '';
      fail(`unknown unit ${JSON.stringify(unit)} (units: ns, us, ms, s, m, h)${hint}`);
    }
    rest = rest.slice(unit.length);
    total += Number(`${whole === '' ? '0' : whole}.${fraction === '' ? '0' : fraction}`) * (unitMs ?? 0);
  }
  return sign * total;
}

/** Formats milliseconds back into Go syntax (`90000` → `"1m30s"`), for messages and docs. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  if (rest > 0) out += `${Number(rest.toFixed(6))}ms`;
  return sign + out;
}
