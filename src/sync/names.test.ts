import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContentRule, dockerHubName, isDockerHub, splitPattern } from './names.js';

const rule = (prefix: string, destination?: string, stripPrefix = false): ContentRule =>
  new ContentRule({ prefix, stripPrefix, ...(destination === undefined ? {} : { destination }) });

describe('content rules: local → upstream names (on demand)', () => {
  it('maps the homelab destinations (prefix "**") to the rest of the name', () => {
    const docker = rule('**', '/docker.io');
    assert.equal(docker.localToUpstream('docker.io/library/nginx'), 'library/nginx');
    assert.equal(docker.localToUpstream('docker.io/nginx'), 'nginx');
    assert.equal(rule('**', '/ghcr.io').localToUpstream('ghcr.io/org/app'), 'org/app');
    assert.equal(docker.localToUpstream('blumeops/app'), undefined);
    assert.equal(docker.localToUpstream('ghcr.io/org/app'), undefined);
    // The destination alone names no upstream repository.
    assert.equal(docker.localToUpstream('docker.io'), undefined);
  });

  it('needs the destination as whole segments', () => {
    assert.equal(rule('**', '/docker.io').localToUpstream('docker.iox/app'), undefined);
  });

  it('matches the prefix glob under the destination', () => {
    const only = rule('library/*', '/hub');
    assert.equal(only.localToUpstream('hub/library/nginx'), 'library/nginx');
    assert.equal(only.localToUpstream('hub/bitnami/redis'), undefined);
    assert.equal(only.localToUpstream('hub/library/a/b'), undefined);
  });

  it('without a destination, local and upstream names are the same', () => {
    assert.equal(rule('team/**').localToUpstream('team/app'), 'team/app');
    assert.equal(rule('team/**', '/').localToUpstream('team/a/b'), 'team/a/b');
    assert.equal(rule('team/**').localToUpstream('other/app'), undefined);
  });

  it('with stripPrefix, re-adds the literal part of the prefix', () => {
    const strip = rule('/library/**', '/official', true);
    assert.equal(strip.localToUpstream('official/nginx'), 'library/nginx');
    assert.equal(strip.localToUpstream('official/a/b'), 'library/a/b');
    assert.equal(rule('library/*', '/', true).localToUpstream('nginx'), 'library/nginx');
  });
});

describe('content rules: upstream → local names (periodic)', () => {
  it('selects upstream repositories by prefix and places them under the destination', () => {
    const mirror = rule('team/**', '/mirror');
    assert.ok(mirror.coversUpstream('team/app'));
    assert.ok(mirror.coversUpstream('team/a/b'));
    assert.ok(!mirror.coversUpstream('other/app'));
    assert.equal(mirror.upstreamToLocal('team/app'), 'mirror/team/app');
    assert.ok(rule('/team/*').coversUpstream('team/app'), 'a leading "/" in the prefix is ignored');
  });

  it('with stripPrefix, drops the literal part of the prefix', () => {
    assert.equal(rule('/library/**', '/official', true).upstreamToLocal('library/nginx'), 'official/nginx');
    assert.equal(rule('library/*', '/', true).upstreamToLocal('library/nginx'), 'nginx');
  });

  it('round-trips with localToUpstream', () => {
    for (const r of [
      rule('team/**', '/mirror'),
      rule('/library/**', '/official', true),
      rule('**', '/docker.io'),
    ]) {
      for (const upstream of ['team/app', 'library/nginx', 'library/a/b']) {
        if (!r.coversUpstream(upstream)) continue;
        assert.equal(r.localToUpstream(r.upstreamToLocal(upstream)), upstream, `${r.prefix} ${upstream}`);
      }
    }
  });
});

describe('doublestar SplitPattern', () => {
  it('splits literal folders from the glob part', () => {
    assert.deepEqual(splitPattern('library/*/'), ['library', '*/']);
    assert.deepEqual(splitPattern('**/'), ['.', '**/']);
    assert.deepEqual(splitPattern('a/b/c*/d'), ['a/b', 'c*/d']);
    assert.deepEqual(splitPattern('a/b'), ['a', 'b']);
  });
});

describe('Docker Hub', () => {
  it('knows its host names', () => {
    assert.ok(isDockerHub(new URL('https://registry-1.docker.io')));
    assert.ok(isDockerHub(new URL('https://docker.io')));
    assert.ok(isDockerHub(new URL('https://INDEX.docker.io')));
    assert.ok(!isDockerHub(new URL('https://ghcr.io')));
    assert.ok(!isDockerHub(new URL('https://mirror.docker.io.example')));
  });

  it('puts single-segment names under library/', () => {
    assert.equal(dockerHubName('nginx'), 'library/nginx');
    assert.equal(dockerHubName('library/nginx'), 'library/nginx');
    assert.equal(dockerHubName('bitnami/redis'), 'bitnami/redis');
  });
});
