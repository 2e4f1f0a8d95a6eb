/**
 * Who a verified client certificate names, as zot's `http.auth.mtls` reads it: the first of
 * `identityAttributes` (default: the subject's CommonName) that the certificate has.
 *
 * | attribute                 | value                                                             |
 * |---------------------------|-------------------------------------------------------------------|
 * | `CommonName`, `CN`        | the subject's CN                                                  |
 * | `Subject`, `DN`           | the whole subject, most specific first (`CN=ci,O=Example,C=DE`)  |
 * | `Email`, `RFC822Name`     | the `emailSanIndex`-th e-mail SAN                                 |
 * | `URI`, `URL`              | the `uriSanIndex`-th URI SAN; with `uriSanPattern`, its first capture group (no match: none) |
 * | `DNSName`, `DNS`          | the `dnsSanIndex`-th DNS SAN                                      |
 *
 * Only certificates the TLS layer verified against `http.tls.cacert` get here. No HTTP here.
 */
import type { X509Certificate } from 'node:crypto';

export interface MtlsSettings {
  readonly identityAttributes: readonly string[];
  readonly uriSanPattern?: RegExp | string | undefined;
  readonly uriSanIndex: number;
  readonly dnsSanIndex: number;
  readonly emailSanIndex: number;
}

export const DEFAULT_MTLS: MtlsSettings = {
  identityAttributes: ['CommonName'],
  uriSanIndex: 0,
  dnsSanIndex: 0,
  emailSanIndex: 0,
};

/** `C=DE\nO=Example\nCN=ci` (Node's form) as pairs, in certificate order. */
function subjectPairs(cert: X509Certificate): [string, string][] {
  return cert.subject
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    });
}

/** Subject alternative names of one kind (`DNS`, `URI`, `email`), in certificate order. */
function sans(cert: X509Certificate, kind: string): string[] {
  const text = cert.subjectAltName;
  if (text === undefined) return [];
  return text
    .split(/, (?=[A-Za-z ]+:)/)
    .filter((entry) => entry.startsWith(`${kind}:`))
    .map((entry) => entry.slice(kind.length + 1).replace(/^"(.*)"$/, '$1'));
}

function attributeValue(
  cert: X509Certificate,
  attribute: string,
  settings: MtlsSettings,
): string | undefined {
  switch (attribute.trim().toLowerCase()) {
    case 'commonname':
    case 'cn':
      return subjectPairs(cert).findLast(([k]) => k === 'CN')?.[1];
    case 'subject':
    case 'dn': {
      const pairs = subjectPairs(cert);
      return pairs.length === 0
        ? undefined
        : pairs
            .reverse()
            .map(([k, v]) => `${k}=${v}`)
            .join(',');
    }
    case 'email':
    case 'rfc822name':
      return sans(cert, 'email')[settings.emailSanIndex];
    case 'dnsname':
    case 'dns':
      return sans(cert, 'DNS')[settings.dnsSanIndex];
    case 'uri':
    case 'url': {
      const uri = sans(cert, 'URI')[settings.uriSanIndex];
      if (uri === undefined || settings.uriSanPattern === undefined) return uri;
      const pattern =
        typeof settings.uriSanPattern === 'string'
          ? new RegExp(settings.uriSanPattern)
          : settings.uriSanPattern;
      return pattern.exec(uri)?.[1];
    }
    default:
      return undefined;
  }
}

/** The user name a verified client certificate stands for, or undefined when it names nobody. */
export function certificateIdentity(
  cert: X509Certificate,
  settings: MtlsSettings = DEFAULT_MTLS,
): string | undefined {
  const attributes = settings.identityAttributes.length > 0 ? settings.identityAttributes : ['CommonName'];
  for (const attribute of attributes) {
    const value = attributeValue(cert, attribute, settings);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}
