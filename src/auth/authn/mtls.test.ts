/**
 * Which user a client certificate names, for each of zot's identity attributes. The certificates
 * are made here with the `openssl` command (self-signed: only the names matter to this mapping).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certificateIdentity, DEFAULT_MTLS, type MtlsSettings } from './mtls.js';

describe('mTLS identities', () => {
  let dir: string;
  let full: X509Certificate;
  let bare: X509Certificate;

  const make = (name: string, subject: string, san?: string): X509Certificate => {
    const cert = path.join(dir, `${name}.crt`);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        path.join(dir, `${name}.key`),
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        subject,
        ...(san === undefined ? [] : ['-addext', `subjectAltName=${san}`]),
      ],
      { stdio: 'ignore' },
    );
    return new X509Certificate(readFileSync(cert));
  };
  const settings = (over: Partial<MtlsSettings>): MtlsSettings => ({ ...DEFAULT_MTLS, ...over });

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mtls-'));
    full = make(
      'full',
      '/C=DE/O=Example/CN=ci-runner',
      'DNS:first.example.com,DNS:second.example.com,email:ci@example.com,URI:spiffe://example.com/ns/ci/sa/builder',
    );
    bare = make('bare', '/O=Example');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the CommonName by default', () => {
    assert.equal(certificateIdentity(full), 'ci-runner');
  });

  it('reads the whole subject, most specific first', () => {
    assert.equal(
      certificateIdentity(full, settings({ identityAttributes: ['DN'] })),
      'CN=ci-runner,O=Example,C=DE',
    );
  });

  it('reads SANs by index, and a URI through the pattern', () => {
    assert.equal(
      certificateIdentity(full, settings({ identityAttributes: ['DNSName'], dnsSanIndex: 1 })),
      'second.example.com',
    );
    assert.equal(certificateIdentity(full, settings({ identityAttributes: ['email'] })), 'ci@example.com');
    assert.equal(
      certificateIdentity(
        full,
        settings({
          identityAttributes: ['URI'],
          uriSanPattern: 'spiffe://example\\.com/ns/[^/]+/sa/([^/]+)',
        }),
      ),
      'builder',
    );
    assert.equal(
      certificateIdentity(full, settings({ identityAttributes: ['URI'], uriSanPattern: '^https://(.*)' })),
      undefined,
    );
  });

  it('falls through the attributes in order, and names nobody when none is present', () => {
    assert.equal(
      certificateIdentity(bare, settings({ identityAttributes: ['CommonName', 'Email', 'Subject'] })),
      'O=Example',
    );
    assert.equal(certificateIdentity(bare, settings({ identityAttributes: ['CN', 'DNS'] })), undefined);
  });
});
