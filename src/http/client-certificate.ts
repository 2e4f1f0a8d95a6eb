/**
 * The caller a TLS client certificate names (zot's mTLS authentication, step 4 of its chain: after
 * an Authorization header and the web UI's session, before anonymous). Only certificates the TLS
 * layer verified against `http.tls.cacert` count.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { certificateIdentity, type MtlsSettings } from '../auth/authn/mtls.js';
import type { Identity } from '../auth/identity.js';

export function certificateCaller(socket: Socket, settings: MtlsSettings | undefined): Identity | undefined {
  if (settings === undefined) return undefined;
  const tls = socket as Partial<TLSSocket>;
  if (tls.encrypted !== true || tls.authorized !== true || tls.getPeerX509Certificate === undefined)
    return undefined;
  const cert = tls.getPeerX509Certificate();
  if (cert === undefined) return undefined;
  const username = certificateIdentity(cert, settings);
  return username === undefined ? undefined : { username, groups: [], method: 'mtls' };
}
