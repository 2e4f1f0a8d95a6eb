/**
 * One glob grammar for `berth verify` and `berth serve`: a config that `verify` accepts never makes
 * `serve` die at start, and one it refuses is refused by `serve` with the same words. Regression
 * for `accessControl.repositories["a[]]"]`, which `verify` once accepted and `serve` crashed on,
 * and for a sync `destination` holding `[`, which serve composed into an invalid pattern.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, startBerth } from '../support/server.js';

interface Run {
  code: number | null;
  output: string;
}

/** Runs the CLI to its end (serve only ends by itself when it refuses the config). */
function runCli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`berth ${args[0]} did not end in 20 s:\n${output}`));
    }, 20_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function configWith(repositories: Record<string, unknown>, root: string): Record<string, unknown> {
  return {
    distSpecVersion: '1.1.0',
    storage: { rootDirectory: root },
    http: { address: '127.0.0.1', port: '0', accessControl: { repositories } },
    log: { level: 'info' },
  };
}

describe('one glob grammar for verify and serve', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'berth-globs-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  for (const pattern of ['a[]]', '[]a]/x', 'team-[ab/**', '{a,b/**', 'a\\']) {
    it(`verify and serve both refuse ${JSON.stringify(pattern)}, with the same reason`, async () => {
      const file = path.join(work, 'bad.json');
      await writeFile(
        file,
        JSON.stringify(configWith({ [pattern]: { anonymousPolicy: ['read'] } }, path.join(work, 'root'))),
      );
      const verified = await runCli(['verify', file]);
      assert.equal(verified.code, 1, verified.output);
      assert.match(verified.output, /invalid repository pattern/);
      const served = await runCli(['serve', file]);
      assert.notEqual(served.code, 0, served.output);
      const reason = /invalid repository pattern: ([^\n]*)/.exec(verified.output)?.[1];
      assert.ok(reason !== undefined);
      assert.ok(served.output.includes(reason), `serve said:\n${served.output}`);
      assert.doesNotMatch(served.output, /TypeError|\n\s+at /, 'a refusal, not a crash');
    });
  }

  it('serves a sync destination holding glob characters (a path, not a pattern)', async () => {
    const root = await mkdtemp(path.join(work, 'root-'));
    const config = {
      ...configWith({ '**': { anonymousPolicy: ['read'] } }, root),
      extensions: {
        sync: {
          enable: true,
          registries: [
            // Nothing listens on port 9; no request here reaches the upstream.
            {
              urls: ['http://127.0.0.1:9'],
              onDemand: true,
              content: [{ prefix: '**', destination: '/mirror[x' }],
            },
          ],
        },
      },
    };
    const file = path.join(work, 'sync.json');
    await writeFile(file, JSON.stringify(config));
    const accepted = await runCli(['verify', file]);
    assert.equal(accepted.code, 0, accepted.output);
    const server = await startBerth({ config, root, cleanup: false });
    try {
      const res = await fetch(`${server.url}/v2/`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    } finally {
      await server.stop();
    }
  });

  it('serves every config verify accepts, tricky globs included', async () => {
    const repositories = Object.fromEntries(
      ['**', '[!a]x/**', '{x,y}/**', 'a\\*b', ']x', 'team-[abc]/*', '/abs/**'].map((p) => [
        p,
        { anonymousPolicy: ['read'] },
      ]),
    );
    const root = await mkdtemp(path.join(work, 'root-'));
    const file = path.join(work, 'good.json');
    await writeFile(file, JSON.stringify(configWith(repositories, root)));
    const accepted = await runCli(['verify', file]);
    assert.equal(accepted.code, 0, accepted.output);
    const server = await startBerth({ config: configWith(repositories, root), root, cleanup: false });
    try {
      const res = await fetch(`${server.url}/v2/xa/b/tags/list`);
      assert.equal(res.status, 404, 'the policy compiled and let the anonymous read through');
      await res.arrayBuffer();
    } finally {
      await server.stop();
    }
  });
});
