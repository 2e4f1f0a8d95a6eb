import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Identity } from '../auth/identity.js';

/** One request as the routes see it. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The request target, parsed (made on first use). */
  readonly url: URL;
  /** `url.pathname`, known without parsing for plain paths (the hot routes read only this). */
  readonly path: string;
  readonly id: string;
  readonly log: Logger;
  /** Who is calling; anonymous until authentication ran. */
  identity: Identity;
  /** A low-cardinality name of the matched route, for logs and metrics (`manifests`, `blobs`...). */
  route: string;
  /** The client's address: the peer's, or what a trusted proxy forwarded (`ext/request-info.ts`). */
  clientAddress?: string;
  /** The repository the request is about, when there is one. */
  repo?: string;
}
