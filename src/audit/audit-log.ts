/**
 * The audit log (`log.audit`): an append-only file of JSON lines, one per security-relevant event:
 * sign-ins, API-key creation and revocation, pushes, deletes, policy denials, and what garbage
 * collection and retention removed. Each line says who (`user`: the user name, `""` for the
 * anonymous caller, `null` for Berth itself), what (`action`, `repo`, `reference`, `digest`), when
 * (`time`, ISO 8601 UTC) and from where (`client`: the peer address, plus `forwardedFor` as the
 * proxy sent it).
 *
 * Lines are written synchronously with O_APPEND, so that each lands whole and in order even when
 * `berth gc` appends to the same file as the server, and nothing is lost if the process dies
 * right after. An audit write that fails is logged and never fails the request it describes.
 *
 * ```ts
 * auditLogFor(ctx).record({ action: 'apikey.create', user: 'alice', client: '10.0.0.5', detail: { label: 'ci' } });
 * ```
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { loggableUserName } from '../auth/loggable-name.js';

/**
 * The actions Berth records. Others may be added; these names are stable because tools grep for
 * them.
 */
export type AuditAction =
  | 'auth.signin'
  | 'auth.signin-failed'
  | 'auth.signout'
  | 'apikey.create'
  | 'apikey.revoke'
  | 'access.denied'
  | 'manifest.push'
  | 'manifest.delete'
  | 'tag.delete'
  | 'blob.push'
  | 'blob.delete'
  | 'upload.cancel'
  | 'gc.delete';

export interface AuditEntry {
  action: AuditAction;
  /** Who: the user name, `""` for the anonymous caller, `null` for Berth itself (GC, retention). */
  user: string | null;
  repo?: string | undefined;
  /** A tag or digest, as the client named it. */
  reference?: string | undefined;
  /** The content digest concerned. */
  digest?: string | undefined;
  /** The peer address the request came from. */
  client?: string | undefined;
  /** The `X-Forwarded-For` header as received. */
  forwardedFor?: string | undefined;
  method?: string | undefined;
  path?: string | undefined;
  status?: number | undefined;
  requestId?: string | undefined;
  /** Anything else worth keeping (an API key's label and id, a denial's reason, a dry run). */
  detail?: Record<string, unknown> | undefined;
}

export class AuditLog {
  private fd: number | undefined;

  /** `file` undefined: a log that records nothing (auditing is off). */
  constructor(
    readonly file: string | undefined,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get enabled(): boolean {
    return this.file !== undefined && this.fd !== -1;
  }

  record(entry: AuditEntry): void {
    if (this.file === undefined || this.fd === -1) return;
    const line: Record<string, unknown> = { time: this.now().toISOString() };
    for (const [key, value] of Object.entries(entry)) if (value !== undefined) line[key] = value;
    // Every writer's user name passes here: none may turn the audit log into a store of secrets.
    if (typeof entry.user === 'string') line.user = loggableUserName(entry.user);
    try {
      this.fd ??= this.open(this.file);
      writeSync(this.fd, `${JSON.stringify(line)}\n`);
    } catch (err) {
      this.log.error({ err, auditLog: this.file, action: entry.action }, 'could not write to the audit log');
    }
  }

  /** Closes the file; later records are dropped. */
  close(): void {
    if (this.fd !== undefined && this.fd !== -1) closeSync(this.fd);
    this.fd = -1;
  }

  private open(file: string): number {
    mkdirSync(path.dirname(file), { recursive: true });
    // Who pushed and deleted what is nobody else's business on a shared machine.
    return openSync(file, 'a', 0o600);
  }
}

const byOwner = new WeakMap<object, AuditLog>();

/**
 * The audit log of one app, created on first use from `log.audit` (a log that records nothing when
 * it is unset). `ctx.registry` identifies the app, so that every extension (and the auth wiring)
 * writes through the same file handle.
 */
export function auditLogFor(ctx: { config: Config; log: Logger; registry: object }): AuditLog {
  let audit = byOwner.get(ctx.registry);
  if (!audit) {
    audit = new AuditLog(ctx.config.log.audit, ctx.log);
    byOwner.set(ctx.registry, audit);
  }
  return audit;
}
