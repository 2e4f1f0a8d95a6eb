import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { HtpasswdFile, parseHtpasswd, type HtpasswdLogger } from './htpasswd.js';

// Cost 4 keeps the suite fast; the cost is whatever each line says, the module does not choose it.
const hash = (password: string, variant: '2a' | '2b' | '2y' = '2y'): string =>
  bcrypt.hashSync(password, 4).replace(/^\$2b\$/, `$${variant}$`);

interface Logged {
  level: 'info' | 'warn';
  details: Record<string, unknown>;
  message: string;
}

function recordingLogger(): HtpasswdLogger & { entries: Logged[] } {
  const entries: Logged[] = [];
  return {
    entries,
    info: (details, message) => entries.push({ level: 'info', details, message }),
    warn: (details, message) => entries.push({ level: 'warn', details, message }),
  };
}

/**
 * Resolves once the watcher reports a reload with `users` users. Earlier reports are skipped: the
 * poller may catch a file half-written (truncated, not yet filled) and report that first. The watcher
 * does not keep the process alive by itself, so the guard timer also keeps the event loop running.
 */
function reloadedWith(file: HtpasswdFile, users: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      off();
      reject(new Error(`the htpasswd file was not reloaded with ${users} users within 10 s`));
    }, 10_000);
    const off = file.onReload((outcome) => {
      if (!('users' in outcome) || outcome.users !== users) return;
      clearTimeout(guard);
      off();
      resolve();
    });
  });
}

describe('parseHtpasswd', () => {
  it('accepts bcrypt entries in all three prefixes', () => {
    const text = [`a:${hash('x', '2a')}`, `b:${hash('x', '2b')}`, `y:${hash('x', '2y')}`].join('\n');
    const { entries, rejected } = parseHtpasswd(text);
    assert.deepEqual([...entries.keys()], ['a', 'b', 'y']);
    assert.deepEqual(rejected, []);
  });

  it('skips blank lines and comments, and reads CRLF files', () => {
    const { entries, rejected } = parseHtpasswd(`# users\r\n\r\nalice:${hash('x')}\r\n   \r\n`);
    assert.deepEqual([...entries.keys()], ['alice']);
    assert.deepEqual(rejected, []);
  });

  it('keeps the later line for a user listed twice, as zot does', () => {
    const first = hash('one');
    const second = hash('two');
    const { entries } = parseHtpasswd(`bob:${first}\nbob:${second}\n`);
    assert.equal(entries.get('bob'), second);
  });

  it('rejects other schemes and broken lines, naming the scheme and never echoing the hash', () => {
    const text = [
      'apr:$apr1$abcdefgh$0123456789abcdefghijkl',
      'sha1:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
      'sha256crypt:$5$saltsalt$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
      'sha512crypt:$6$saltsalt$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
      'md5crypt:$1$saltsalt$abcdefghijklmnopqrstuv',
      'plain:hunter2',
      'broken:$2y$04$tooShort',
      'nocolon',
      `:${hash('x')}`,
    ].join('\n');
    const { entries, rejected } = parseHtpasswd(text);
    assert.equal(entries.size, 0);
    assert.deepEqual(
      rejected.map((r) => [r.line, r.username]),
      [
        [1, 'apr'],
        [2, 'sha1'],
        [3, 'sha256crypt'],
        [4, 'sha512crypt'],
        [5, 'md5crypt'],
        [6, 'plain'],
        [7, 'broken'],
        [8, 'nocolon'],
        [9, ''],
      ],
    );
    assert.match(rejected[0]?.reason ?? '', /apr1/);
    assert.match(rejected[2]?.reason ?? '', /SHA-256-crypt/);
    assert.match(rejected[5]?.reason ?? '', /plain text/);
    assert.match(rejected[6]?.reason ?? '', /malformed bcrypt/);
    for (const r of rejected) {
      assert.doesNotMatch(r.reason, /hunter2|abcdefgh|W6ph5/);
    }
  });
});

describe('HtpasswdFile', () => {
  let dir: string;
  const open: HtpasswdFile[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-htpasswd-'));
  });

  after(async () => {
    for (const file of open) file.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function openFile(name: string, text: string, logger?: HtpasswdLogger): Promise<HtpasswdFile> {
    const filePath = path.join(dir, name);
    await writeFile(filePath, text);
    const file = await HtpasswdFile.open(filePath, { pollIntervalMs: 20, ...(logger ? { logger } : {}) });
    open.push(file);
    return file;
  }

  it('verifies passwords of the users it holds', async () => {
    const file = await openFile('basic', `alice:${hash('wonderland')}\nbob:${hash('builder', '2a')}\n`);
    assert.equal(file.size, 2);
    assert.equal(await file.verify('alice', 'wonderland'), true);
    assert.equal(await file.verify('bob', 'builder'), true);
    assert.equal(await file.verify('alice', 'builder'), false);
    assert.equal(await file.verify('alice', ''), false);
    assert.equal(await file.verify('Alice', 'wonderland'), false);
    assert.equal(await file.verify('carol', 'wonderland'), false);
    // Remembering a verified password must not let a wrong one through.
    assert.equal(await file.verify('alice', 'wonderland'), true);
    assert.equal(await file.verify('alice', 'wonderland!'), false);
  });

  it('refuses users whose entries it could not use, and says why in the log', async () => {
    const logger = recordingLogger();
    const file = await openFile(
      'mixed',
      `old:$apr1$abcdefgh$0123456789abcdefghijkl\nnew:${hash('pw')}\n`,
      logger,
    );
    assert.equal(file.has('old'), false);
    assert.equal(await file.verify('old', 'anything'), false);
    assert.equal(await file.verify('new', 'pw'), true);
    const warning = logger.entries.find((e) => e.level === 'warn' && e.details.user === 'old');
    assert.ok(warning, 'a warning names the user');
    assert.doesNotMatch(JSON.stringify(logger.entries), /\$apr1\$abcdefgh/);
  });

  it('warns when the file holds no usable user', async () => {
    const logger = recordingLogger();
    const file = await openFile('empty', '# nobody yet\n', logger);
    assert.equal(file.size, 0);
    assert.equal(await file.verify('anyone', 'x'), false);
    assert.ok(logger.entries.some((e) => e.level === 'warn' && /no usable users/.test(e.message)));
  });

  it('refuses to open a file that does not exist', async () => {
    await assert.rejects(HtpasswdFile.open(path.join(dir, 'missing')), { code: 'ENOENT' });
  });

  it('picks up a file rewritten in place', async () => {
    const file = await openFile('inplace', `alice:${hash('first')}\n`);
    const reloaded = reloadedWith(file, 2);
    await writeFile(file.path, `alice:${hash('second')}\ncarol:${hash('c')}\n`);
    await reloaded;
    assert.equal(await file.verify('alice', 'second'), true);
    assert.equal(await file.verify('carol', 'c'), true);
  });

  it('forgets a remembered password when the file changes it', async () => {
    const file = await openFile('rotate', `alice:${hash('old-password')}\n`);
    assert.equal(await file.verify('alice', 'old-password'), true);
    await writeFile(file.path, `alice:${hash('new-password')}\n`);
    await file.reload();
    assert.equal(await file.verify('alice', 'old-password'), false);
    assert.equal(await file.verify('alice', 'new-password'), true);
  });

  it('picks up a file replaced by rename, as editors and config management do', async () => {
    const file = await openFile('replaced', `alice:${hash('a')}\n`);
    const reloaded = reloadedWith(file, 2);
    const temporary = path.join(dir, 'replaced.tmp');
    await writeFile(temporary, `dave:${hash('d')}\ndan:${hash('d')}\n`);
    await rename(temporary, file.path);
    await reloaded;
    assert.equal(await file.verify('dave', 'd'), true);
    assert.equal(await file.verify('alice', 'a'), false);
  });

  it('keeps its users while the file is missing, and reloads when it comes back', async () => {
    const logger = recordingLogger();
    const file = await openFile('flaky', `alice:${hash('a')}\n`, logger);
    await unlink(file.path);
    await assert.rejects(file.reload(), { code: 'ENOENT' });
    assert.equal(await file.verify('alice', 'a'), true);
    assert.ok(logger.entries.some((e) => e.level === 'warn' && /failed to read/.test(e.message)));
    const reloaded = reloadedWith(file, 2);
    await writeFile(file.path, `erin:${hash('e')}\nfrank:${hash('f')}\n`);
    await reloaded;
    assert.equal(await file.verify('erin', 'e'), true);
  });

  it('keeps verifying after close', async () => {
    const file = await openFile('closed', `alice:${hash('a')}\n`);
    file.close();
    file.close();
    assert.equal(await file.verify('alice', 'a'), true);
  });
});
