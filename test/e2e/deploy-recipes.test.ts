/**
 * The deployment recipes in deploy/ checked with the tools that exist here: the systemd unit with
 * `systemd-analyze verify` (no warning allowed) and its sandboxing with `systemd-analyze security`;
 * the launchd plist parsed as a property list (well-formed XML, the plist grammar, the keys launchd
 * needs); the container's default configuration with `berth verify`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireCommand, run } from '../support/clients.js';
import { CLI, PROJECT_ROOT } from '../support/server.js';

const DEPLOY = path.join(PROJECT_ROOT, 'deploy');

type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

/**
 * A strict parser for the XML property lists launchd reads: elements only (no attributes beyond the
 * root's `version`), text in `key`/`string`/`integer`, every tag closed in order. Throws on
 * anything else, with the offset.
 */
export function parsePlist(xml: string): PlistValue {
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`plist: ${why} at offset ${at}`);
  };
  const skip = (): void => {
    for (;;) {
      const rest = xml.slice(at);
      const space = /^\s+/.exec(rest);
      if (space) at += space[0].length;
      else if (rest.startsWith('<!--')) {
        const end = xml.indexOf('-->', at);
        if (end === -1) fail('unclosed comment');
        at = end + 3;
      } else if (rest.startsWith('<?') || rest.startsWith('<!DOCTYPE')) {
        const end = xml.indexOf('>', at);
        if (end === -1) fail('unclosed declaration');
        at = end + 1;
      } else return;
    }
  };
  const tag = (): { name: string; closing: boolean; empty: boolean } => {
    skip();
    const m = /^<(\/?)([A-Za-z]+)(\s+version="1\.0")?\s*(\/?)>/.exec(xml.slice(at));
    if (!m) return fail('expected a tag');
    at += m[0].length;
    return { name: m[2]!, closing: m[1] === '/', empty: m[4] === '/' };
  };
  const text = (name: string): string => {
    const end = xml.indexOf(`</${name}>`, at);
    if (end === -1) fail(`unclosed <${name}>`);
    const raw = xml.slice(at, end);
    if (raw.includes('<')) fail(`markup inside <${name}>`);
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(raw)) fail('bare &');
    at = end + name.length + 3;
    return raw
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  };
  const value = (open: { name: string; closing: boolean; empty: boolean }): PlistValue => {
    if (open.closing) fail(`unexpected </${open.name}>`);
    switch (open.name) {
      case 'true':
      case 'false':
        if (!open.empty) fail(`<${open.name}/> must be empty`);
        return open.name === 'true';
      case 'string':
        return open.empty ? '' : text('string');
      case 'integer': {
        const n = text('integer').trim();
        if (!/^-?\d+$/.test(n)) fail(`not an integer: ${n}`);
        return Number(n);
      }
      case 'array': {
        const items: PlistValue[] = [];
        if (open.empty) return items;
        for (;;) {
          const next = tag();
          if (next.closing && next.name === 'array') return items;
          items.push(value(next));
        }
      }
      case 'dict': {
        const dict: Record<string, PlistValue> = {};
        if (open.empty) return dict;
        for (;;) {
          const next = tag();
          if (next.closing && next.name === 'dict') return dict;
          if (next.name !== 'key') fail('expected <key> in <dict>');
          const key = text('key');
          if (key in dict) fail(`duplicate key ${key}`);
          dict[key] = value(tag());
        }
      }
      default:
        return fail(`unknown element <${open.name}>`);
    }
  };
  const root = tag();
  if (root.name !== 'plist' || root.closing) fail('expected <plist version="1.0">');
  const result = value(tag());
  const end = tag();
  if (!end.closing || end.name !== 'plist') fail('expected </plist>');
  skip();
  if (at !== xml.length) fail('content after </plist>');
  return result;
}

describe('deployment recipes', () => {
  let work: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-recipes-'));
  });
  after(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('the systemd unit verifies without a warning and is well sandboxed', async () => {
    const analyze = requireCommand('systemd-analyze');
    const unit = await readFile(path.join(DEPLOY, 'systemd/berth.service'), 'utf8');
    assert.match(unit, /^DynamicUser=yes$/m);
    assert.match(unit, /^ProtectSystem=strict$/m);
    assert.match(unit, /^NoNewPrivileges=yes$/m);
    assert.match(unit, /^ReadWritePaths=\/var\/lib\/berth/m);
    // verify checks that ExecStart's program exists: point it at this machine's node.
    const file = path.join(work, 'berth.service');
    await writeFile(file, unit.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
    const verified = await run(analyze, ['verify', file]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.stderr.trim(), '', 'systemd-analyze verify printed warnings');
    const security = await run(analyze, ['security', '--offline=yes', '--no-pager', file]);
    const exposure = /Overall exposure level for berth\.service: (\d+\.\d+)/.exec(
      security.stdout + security.stderr,
    );
    assert.ok(exposure, security.stdout + security.stderr);
    assert.ok(Number(exposure[1]) <= 2.0, `exposure ${exposure[1]} (want ≤ 2.0, "OK")`);
  });

  it('the systemd check fails on a misspelt key (the check can fail)', async () => {
    const unit = await readFile(path.join(DEPLOY, 'systemd/berth.service'), 'utf8');
    const file = path.join(work, 'broken.service');
    await writeFile(
      file,
      unit
        .replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `)
        .replace('ProtectSystem=', 'ProtectSytem='),
    );
    const verified = await run(requireCommand('systemd-analyze'), ['verify', file]);
    assert.match(verified.stderr, /Unknown key/);
  });

  it('the launchd plist is a well-formed property list with what launchd needs', async () => {
    const plist = parsePlist(
      await readFile(path.join(DEPLOY, 'launchd/dev.berth.registry.plist'), 'utf8'),
    ) as Record<string, PlistValue>;
    assert.equal(plist.Label, 'dev.berth.registry');
    const args = plist.ProgramArguments as string[];
    assert.ok(Array.isArray(args) && args.includes('serve'));
    assert.equal(typeof plist.UserName, 'string');
    assert.notEqual(plist.UserName, 'root');
    assert.equal(plist.RunAtLoad, true);
    assert.throws(
      () => parsePlist('<plist version="1.0"><dict><key>a</key><string>x</dict></plist>'),
      /plist:/,
    );
  });

  it('the container image’s default configuration verifies', async () => {
    const verified = await run(process.execPath, [CLI, 'verify', path.join(DEPLOY, 'container/config.json')]);
    assert.equal(verified.code, 0, verified.stderr);
  });
});
