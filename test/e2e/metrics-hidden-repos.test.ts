/**
 * `/metrics` and hidden repositories (issue 11 item 9): repository labels name only repositories
 * the scraper may read; the rest are summed under `repo="_hidden"`, so an anonymous scraper
 * learns neither the names nor the activity of a private tree. An administrator sees them all.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { getManifest, makeImage, pushContent } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';

const admin = { Authorization: `Basic ${Buffer.from('root:root-secret').toString('base64')}` };

describe('/metrics repository labels', () => {
  let berth: RunningServer;
  let work: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-metrics-hidden-'));
    const file = path.join(work, 'htpasswd');
    await writeFile(file, `root:${await bcrypt.hash('root-secret', 4)}\n`);
    berth = await startBerth({
      config: {
        storage: {},
        http: {
          auth: { htpasswd: { path: file } },
          accessControl: {
            metrics: { users: ['', 'root'] },
            adminPolicy: { users: ['root'], actions: ['read', 'create', 'update', 'delete'] },
            repositories: {
              'public/**': { anonymousPolicy: ['read'] },
              'private/**': { policies: [] },
            },
          },
        },
        extensions: { metrics: { enable: true, prometheus: { path: '/metrics' } } },
      },
    });
    for (const repo of ['public/app', 'private/payroll', 'private/vault']) {
      const image = makeImage();
      await pushContent(berth.url, repo, image, 'v1', { headers: admin });
      await getManifest(berth.url, repo, 'v1', { headers: admin });
    }
  });
  after(async () => {
    await berth?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  const scrape = async (headers: Record<string, string> = {}): Promise<string> => {
    const res = await fetch(`${berth.url}/metrics`, { headers });
    assert.equal(res.status, 200);
    return res.text();
  };

  it('an anonymous scraper sees public names and one _hidden aggregate, never private names', async () => {
    const text = await scrape();
    assert.ok(!text.includes('private/'), 'a private repository name is exposed');
    assert.match(text, /zot_repo_uploads_total\{repo="public\/app"\} 1/);
    assert.match(text, /zot_repo_uploads_total\{repo="_hidden"\} 2/);
    assert.match(text, /zot_repo_downloads_total\{repo="_hidden"\} 2/);
    assert.equal(text.match(/zot_repo_uploads_total\{repo="_hidden"\}/g)?.length, 1, 'one aggregate line');
  });

  it('an administrator sees every repository', async () => {
    const text = await scrape(admin);
    assert.match(text, /zot_repo_uploads_total\{repo="private\/payroll"\} 1/);
    assert.ok(!text.includes('_hidden'));
  });
});
