/**
 * A throw-away certificate authority for TLS tests, made with the `openssl` command: a CA, server
 * certificates for 127.0.0.1/localhost, and client certificates with a chosen subject and SANs.
 * Nothing is committed; every test run makes its own.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { requireCommand, runOk } from './clients.js';

export interface CertificatePair {
  readonly cert: string;
  readonly key: string;
}

export interface TestCa extends CertificatePair {
  readonly dir: string;
  /** A server certificate for 127.0.0.1 and localhost; `name` keeps several apart. */
  server(name: string): Promise<CertificatePair>;
  /** A client certificate with `subject` (e.g. `/CN=alice/O=Example`) and optional SAN entries. */
  client(name: string, subject: string, san?: string): Promise<CertificatePair>;
}

export async function createTestCa(dir: string, name = 'ca'): Promise<TestCa> {
  const openssl = requireCommand('openssl');
  const ca = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  await runOk(openssl, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    ca.key,
    '-out',
    ca.cert,
    '-days',
    '2',
    '-subj',
    `/CN=Berth test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let serial = 0;
  const issue = async (file: string, subject: string, extensions: string): Promise<CertificatePair> => {
    const pair = { cert: path.join(dir, `${file}.crt`), key: path.join(dir, `${file}.key`) };
    const csr = path.join(dir, `${file}.csr`);
    const ext = path.join(dir, `${file}.ext`);
    await writeFile(ext, extensions);
    await runOk(openssl, [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      pair.key,
      '-out',
      csr,
      '-subj',
      subject,
    ]);
    await runOk(openssl, [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-set_serial',
      String(Date.now() + ++serial),
      '-days',
      '2',
      '-out',
      pair.cert,
      '-extfile',
      ext,
    ]);
    return pair;
  };
  return {
    ...ca,
    dir,
    server: (file) =>
      issue(file, `/CN=${file}`, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'),
    client: (file, subject, san) =>
      issue(
        file,
        subject,
        `${san === undefined ? '' : `subjectAltName=${san}\n`}extendedKeyUsage=clientAuth\n`,
      ),
  };
}
