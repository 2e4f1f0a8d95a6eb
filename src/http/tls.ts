/**
 * `http.tls`: the server certificate and key, and (with `cacert`) client certificates, verified
 * when given (Go's `VerifyClientCertIfGiven`, as zot): a client without a certificate still
 * connects and authenticates otherwise; one whose certificate does not chain to `cacert` is cut off.
 *
 * The files are re-read when they change (cert-manager, certbot and Kubernetes secrets rotate them
 * in place or by swapping a symlink) and installed with `setSecureContext`: new handshakes get the
 * new certificate, open connections keep theirs and are never dropped. A half-written pair (the
 * certificate renewed, the key not yet) does not load; the old context stays until both agree.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { RequestListener, ServerOptions } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  /** Client certificates signed by these CAs are verified and name the caller (mTLS). */
  readonly cacert?: string | undefined;
}

/** Reads the files into the options `https.createServer` and `setSecureContext` take. */
export function readTlsFiles(files: TlsFiles): SecureContextOptions {
  const options: SecureContextOptions = { cert: readFileSync(files.cert), key: readFileSync(files.key) };
  if (files.cacert !== undefined) options.ca = readFileSync(files.cacert);
  // Throws for a key that does not match the certificate, or unreadable PEM: refuse early.
  createSecureContext(options);
  return options;
}

/** Server options for client certificates: asked for, verified by hand (see `dropUnverifiedClients`). */
export function clientCertificateOptions(files: TlsFiles): {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  return { requestCert: files.cacert !== undefined, rejectUnauthorized: false };
}

/**
 * Node either refuses every connection without a certificate (`rejectUnauthorized: true`) or
 * accepts bad ones: this closes connections whose presented certificate did not verify, which is
 * what zot does, and keeps those that presented none.
 */
export function dropUnverifiedClients(server: HttpsServer, log: Logger): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.authorized) return;
    const peer = socket.getPeerCertificate();
    if (peer === null || Object.keys(peer).length === 0) return;
    log.info(
      { remoteAddress: socket.remoteAddress, reason: String(socket.authorizationError) },
      'client certificate refused',
    );
    socket.destroy();
  });
}

export interface TlsServerOptions {
  readonly files: TlsFiles;
  /** What `readTlsFiles` read at start. */
  readonly options: SecureContextOptions;
}

/**
 * `http.createServer`'s shape, making an HTTPS server with the certificate and, with `cacert`,
 * client certificates verified when given.
 */
export function createTlsServer(
  tls: TlsServerOptions,
  log: Logger,
): (options: ServerOptions, handler: RequestListener) => HttpsServer {
  return (options, handler) => {
    const server = createServer(
      { ...options, ...tls.options, ...clientCertificateOptions(tls.files) },
      handler,
    );
    if (tls.files.cacert !== undefined) dropUnverifiedClients(server, log);
    return server;
  };
}

/** How often the certificate files are checked for changes. */
const POLL_INTERVAL_MS = 1_000;

/** Watches the TLS files and installs a new secure context when they change. */
export class CertificateWatcher {
  readonly #server: HttpsServer;
  readonly #log: Logger;
  #files: TlsFiles;
  #watched: string[] = [];
  readonly #listener = (current: Stats, previous: Stats): void => {
    if (
      current.mtimeMs === previous.mtimeMs &&
      current.size === previous.size &&
      current.ino === previous.ino
    )
      return;
    this.reload();
  };

  constructor(server: HttpsServer, files: TlsFiles, log: Logger) {
    this.#server = server;
    this.#files = files;
    this.#log = log.child({ component: 'tls' });
  }

  start(): void {
    this.#watched = [this.#files.cert, this.#files.key, ...(this.#files.cacert ? [this.#files.cacert] : [])];
    // Polling follows symlinks and survives rename-into-place, which fs.watch does not.
    for (const file of this.#watched)
      watchFile(file, { interval: POLL_INTERVAL_MS, persistent: false }, this.#listener);
  }

  stop(): void {
    for (const file of this.#watched) unwatchFile(file, this.#listener);
    this.#watched = [];
  }

  /** Re-reads the files (new paths from a reloaded config, if given); false when they did not load. */
  reload(files: TlsFiles = this.#files): boolean {
    try {
      const options = readTlsFiles(files);
      this.#server.setSecureContext(options);
      if (files !== this.#files) {
        this.stop();
        this.#files = files;
        this.start();
      }
      this.#log.info({ cert: files.cert }, 'TLS certificate loaded');
      return true;
    } catch (err) {
      this.#log.warn(
        { err: { message: (err as Error).message }, cert: files.cert },
        'TLS files did not load; the previous certificate stays in use',
      );
      return false;
    }
  }
}
