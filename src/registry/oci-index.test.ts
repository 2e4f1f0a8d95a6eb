import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emptyIndex, removeDigest, removeTag, serializeIndex, setTag, tagOf } from './oci-index.js';

const m = (n: string) => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${n.repeat(64)}`,
  size: 1,
});

describe('index.json edits', () => {
  it('moving a tag keeps the old manifest as an untagged entry', () => {
    const doc = emptyIndex();
    setTag(doc, m('a'), 'v1');
    setTag(doc, m('b'), 'v1');
    assert.deepEqual(
      doc.manifests.map((d) => [d.digest[7], tagOf(d)]),
      [
        ['a', undefined],
        ['b', 'v1'],
      ],
    );
  });

  it('tagging an untagged manifest replaces its untagged entry', () => {
    const doc = emptyIndex();
    setTag(doc, m('a'), 'v1');
    setTag(doc, m('b'), 'v1');
    setTag(doc, m('a'), 'v2');
    assert.deepEqual(
      doc.manifests.map((d) => [d.digest[7], tagOf(d)]),
      [
        ['b', 'v1'],
        ['a', 'v2'],
      ],
    );
  });

  it('two tags on one digest are two entries; removing one keeps the other', () => {
    const doc = emptyIndex();
    setTag(doc, m('a'), 'x');
    setTag(doc, m('a'), 'y');
    assert.equal(removeTag(doc, 'x'), true);
    assert.deepEqual(doc.manifests.map(tagOf), ['y']);
    assert.equal(removeTag(doc, 'x'), false);
  });

  it('removing the last tag leaves the manifest untagged; removing the digest removes it all', () => {
    const doc = emptyIndex();
    setTag(doc, m('a'), 'x');
    removeTag(doc, 'x');
    assert.equal(doc.manifests.length, 1);
    assert.equal(tagOf(doc.manifests[0]!), undefined);
    assert.equal(removeDigest(doc, m('a').digest), true);
    assert.equal(doc.manifests.length, 0);
  });
});

describe('index.json text', () => {
  it('is the document as JSON after every edit, entries kept from earlier writes included', () => {
    const doc = { ...emptyIndex(), annotations: { team: 'a' } };
    setTag(doc, m('a'), 'v1');
    setTag(doc, { ...m('b'), annotations: { note: 'x' } }, 'v2');
    assert.deepEqual(JSON.parse(serializeIndex(doc)), doc);
    setTag(doc, m('c'), 'v1');
    removeTag(doc, 'v2');
    assert.deepEqual(JSON.parse(serializeIndex(doc)), doc);
    assert.deepEqual(JSON.parse(serializeIndex({ schemaVersion: 2, manifests: [] })), {
      schemaVersion: 2,
      manifests: [],
    });
  });

  it('an entry written once cannot be changed in place (its kept JSON would go stale)', () => {
    const doc = emptyIndex();
    setTag(doc, { ...m('a'), annotations: { note: 'x' } }, 'v1');
    serializeIndex(doc);
    const entry = doc.manifests[0]!;
    assert.throws(() => {
      (entry as { size: number }).size = 2;
    }, TypeError);
    assert.throws(() => {
      entry.annotations!['note'] = 'y';
    }, TypeError);
  });
});
