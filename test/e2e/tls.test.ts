/**
 * `http.tls` with client certificates, driven by curl and skopeo against a CA made in the test:
 * HTTPS with the server certificate, callers named by their client certificate (mTLS, CommonName
 * as zot), a certificate from another CA cut off, and a certificate rotation on disk that new
 * connections see while an open keep-alive connection carries on undisturbed.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { requireCommand, run, type RunResult } from '../support/clients.js';
import { makeImage, writeOciLayout } from '../support/fixtures.js';
import bcrypt from 'bcryptjs';
import { createTestCa, type CertificatePair, type TestCa } from '../support/pki.js';
import { startBerth, type RunningServer } from '../support/server.js';

const TIMEOUT = { timeout: 180_000 };

interface Answer {
  status: number;
  body: string;
  socket: TLSSocket;
  fingerprint: string;
}

describe('TLS with client certificates', () => {
  let work: string;
  let ca: TestCa;
  let alice: CertificatePair;
  let berth: RunningServer;
  let base: string;
  let live: CertificatePair;
  let ca2: Buffer;

  const get = (
    path: string,
    options: { agent?: Agent | false; client?: CertificatePair } = {},
  ): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${base}${path}`,
        {
          ca: ca2,
          agent: options.agent ?? false,
          ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
        },
        (res) => {
          // Captured now: a keep-alive agent takes the socket back at the end of the body.
          const socket = res.socket as TLSSocket;
          const fingerprint = socket.getPeerCertificate().fingerprint256;
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket, fingerprint }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  const curl = (args: string[]): Promise<RunResult> =>
    run(requireCommand('curl'), [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      ca.cert,
      ...args,
    ]);

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-tls-'));
    ca = await createTestCa(work);
    const server = await ca.server('server-1');
    alice = await ca.client('alice', '/O=Example/CN=alice');
    live = { cert: path.join(work, 'live.crt'), key: path.join(work, 'live.key') };
    await copyFile(server.cert, live.cert);
    await copyFile(server.key, live.key);
    ca2 = await readFile(ca.cert);
    berth = await startBerth({
      config: {
        http: {
          tls: { cert: live.cert, key: live.key, cacert: ca.cert },
          accessControl: {
            repositories: {
              '**': { policies: [{ users: ['alice'], actions: ['read', 'create', 'update', 'delete'] }] },
            },
          },
        },
      },
    });
    base = `https://127.0.0.1:${berth.port}`;
  });

  after(async () => {
    await berth?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it(
    'serves HTTPS; curl with the client certificate is alice, without one anonymous (401)',
    TIMEOUT,
    async () => {
      const named = await curl(['--cert', alice.cert, '--key', alice.key, `${base}/v2/_catalog`]);
      assert.equal(named.stdout, '200', named.stderr);
      const anonymous = await curl([`${base}/v2/_catalog`]);
      assert.equal(anonymous.stdout, '401', anonymous.stderr);
      const plain = await run(requireCommand('curl'), ['-sS', `http://127.0.0.1:${berth.port}/v2/`]);
      assert.notEqual(plain.stdout.includes('"repositories"'), true);
    },
  );

  it('cuts off a client certificate from another CA', TIMEOUT, async () => {
    const otherDir = path.join(work, 'other');
    await mkdir(otherDir);
    const other = await createTestCa(otherDir, 'other-ca');
    const mallory = await other.client('mallory', '/CN=alice');
    const refused = await curl(['--cert', mallory.cert, '--key', mallory.key, `${base}/v2/_catalog`]);
    assert.notEqual(refused.stdout, '200', 'a certificate from another CA must not name alice');
    assert.notEqual(refused.code, 0, refused.stdout);
  });

  it('skopeo pushes and pulls with --dest-cert-dir / --src-cert-dir, named alice', TIMEOUT, async () => {
    const skopeo = requireCommand('skopeo');
    const certDir = path.join(work, 'certs.d');
    await mkdir(certDir);
    await copyFile(ca.cert, path.join(certDir, 'ca.crt'));
    await copyFile(alice.cert, path.join(certDir, 'alice.cert'));
    await copyFile(alice.key, path.join(certDir, 'alice.key'));
    const policy = path.join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const env = { HOME: work, REGISTRY_AUTH_FILE: path.join(work, 'auth.json') };
    const image = makeImage({ layerSizes: [4096] });
    const layout = await writeOciLayout(path.join(work, 'layout'), [{ content: image, tag: 'v1' }]);
    const ok = (r: RunResult): void => assert.equal(r.code, 0, `${r.command}\n${r.stderr}`);
    ok(
      await run(
        skopeo,
        [
          '--policy',
          policy,
          'copy',
          '--dest-cert-dir',
          certDir,
          `oci:${layout}:v1`,
          `docker://${berth.host}/tls/app:v1`,
        ],
        { env },
      ),
    );
    const inspect = await run(
      skopeo,
      ['--policy', policy, 'inspect', '--raw', '--cert-dir', certDir, `docker://${berth.host}/tls/app:v1`],
      { env },
    );
    ok(inspect);
    assert.equal(
      (JSON.parse(inspect.stdout) as { config: { digest: string } }).config.digest,
      image.config.digest,
    );
    ok(
      await run(
        skopeo,
        [
          '--policy',
          policy,
          'copy',
          '--src-cert-dir',
          certDir,
          `docker://${berth.host}/tls/app:v1`,
          `oci:${path.join(work, 'pulled')}:v1`,
        ],
        { env },
      ),
    );
    // Without the client certificate, only the CA: anonymous, refused.
    const caOnly = path.join(work, 'ca-only.d');
    await mkdir(caOnly);
    await copyFile(ca.cert, path.join(caOnly, 'ca.crt'));
    const refused = await run(
      skopeo,
      ['--policy', policy, 'inspect', '--raw', '--cert-dir', caOnly, `docker://${berth.host}/tls/app:v1`],
      { env },
    );
    assert.notEqual(refused.code, 0);
    assert.match(berth.output(), /"user":"alice"[^\n]*"status":201|"status":201[^\n]*"user":"alice"/);
  });

  it(
    'a rotated certificate reaches new connections while a keep-alive connection stays open',
    TIMEOUT,
    async () => {
      const agent = new Agent({
        keepAlive: true,
        maxSockets: 1,
        ca: ca2,
        cert: await readFile(alice.cert),
        key: await readFile(alice.key),
      });
      try {
        const first = await get('/v2/_catalog', { agent, client: alice });
        assert.equal(first.status, 200, first.body);
        const next = await ca.server('server-2');
        // Renewal tools write the key, then the certificate; the watcher loads the pair once both agree.
        await copyFile(next.key, live.key);
        await copyFile(next.cert, live.cert);
        let fresh = await get('/livez');
        for (let i = 0; i < 100 && fresh.fingerprint === first.fingerprint; i++) {
          await sleep(200);
          fresh = await get('/livez');
        }
        assert.notEqual(
          fresh.fingerprint,
          first.fingerprint,
          'new connections still get the old certificate',
        );
        const again = await get('/v2/_catalog', { agent, client: alice });
        assert.equal(again.status, 200, again.body);
        assert.equal(again.socket, first.socket, 'the keep-alive connection was dropped');
        assert.equal(again.fingerprint, first.fingerprint);
        assert.match(berth.output(), /TLS certificate loaded/);
      } finally {
        agent.destroy();
      }
    },
  );
});

describe('TLS with passwords: the token flow over HTTPS', () => {
  let work: string;
  let berth: RunningServer;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-tls-token-'));
    const ca = await createTestCa(work);
    const server = await ca.server('server');
    await mkdir(path.join(work, 'certs.d'));
    await copyFile(ca.cert, path.join(work, 'certs.d', 'ca.crt'));
    const htpasswd = path.join(work, 'htpasswd');
    await writeFile(htpasswd, `ci:${bcrypt.hashSync('ci-secret', 4)}\n`);
    berth = await startBerth({
      config: {
        http: {
          tls: { cert: server.cert, key: server.key },
          auth: { htpasswd: { path: htpasswd } },
          accessControl: {
            repositories: { '**': { policies: [{ users: ['ci'], actions: ['read', 'create', 'update'] }] } },
          },
        },
      },
    });
  });

  after(async () => {
    await berth?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('challenges with an https token realm, and skopeo pushes with a password', TIMEOUT, async () => {
    const ping = await run(requireCommand('curl'), [
      '-sS',
      '-o',
      '/dev/null',
      '-D',
      '-',
      '--cacert',
      path.join(work, 'certs.d', 'ca.crt'),
      `https://127.0.0.1:${berth.port}/v2/`,
    ]);
    assert.match(
      ping.stdout,
      new RegExp(
        `www-authenticate: Bearer realm="https://127\\.0\\.0\\.1:${berth.port}/zot/auth/token"`,
        'i',
      ),
    );
    const policy = path.join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const layout = await writeOciLayout(path.join(work, 'layout'), [
      { content: makeImage({ layerSizes: [1024] }), tag: 'v1' },
    ]);
    const pushed = await run(
      requireCommand('skopeo'),
      [
        '--policy',
        policy,
        'copy',
        '--dest-cert-dir',
        path.join(work, 'certs.d'),
        '--dest-creds',
        'ci:ci-secret',
        `oci:${layout}:v1`,
        `docker://${berth.host}/team/app:v1`,
      ],
      { env: { HOME: work, REGISTRY_AUTH_FILE: path.join(work, 'auth.json') } },
    );
    assert.equal(pushed.code, 0, pushed.stderr);
  });
});
