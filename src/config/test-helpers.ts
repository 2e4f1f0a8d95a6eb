/** What the config tests share: a minimal valid config and two ways to parse one. */
import assert from 'node:assert/strict';
import { ConfigError, parseConfig, type LoadResult } from './index.js';

export const HOUR = 3_600_000;
export const base = { storage: { rootDirectory: '/srv/registry' } };
export const parse = (raw: unknown): LoadResult => parseConfig(raw, { baseDir: '/etc/berth' });

/** Parses and returns the ConfigError's lines; fails the test when parsing succeeds. */
export function problems(raw: unknown, baseDir = '/etc/berth'): string[] {
  try {
    parseConfig(raw, { baseDir });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message.split('\n');
  }
  assert.fail('expected the config to be refused');
}
