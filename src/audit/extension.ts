/**
 * The audit extension, registered when `log.audit` names a file: turns finished `/v2` requests into
 * audit entries (pushes, deletes, denials) and closes the file at shutdown. Sign-ins and API keys
 * are recorded by the authentication routes themselves, through `auditLogFor(ctx)`.
 */
import type { ExtensionFactory } from '../extensions.js';
import type { RequestRecord } from '../http/server.js';
import { auditLogFor, type AuditAction, type AuditEntry } from './audit-log.js';

/** The path segment after `/<kind>/` in a /v2 path: a tag, digest or upload id. */
function segmentAfter(path: string, kind: string): string | undefined {
  const at = path.lastIndexOf(`/${kind}/`);
  if (at === -1) return undefined;
  const rest = path.slice(at + kind.length + 2);
  if (rest === '' || rest.includes('/')) return undefined;
  try {
    return decodeURIComponent(rest);
  } catch {
    return rest;
  }
}

/** What a finished request means for the audit log, or undefined when it is not worth a line. */
export function auditActionOf(
  record: RequestRecord,
): { action: AuditAction; reference?: string | undefined } | undefined {
  // Anonymous 401s are the normal challenge round trip of every client, not denials; refused
  // credentials are recorded by authentication as auth.signin-failed.
  if (record.status === 403) return { action: 'access.denied' };
  if (record.status < 200 || record.status >= 300) return undefined;
  const { method, route, path } = record;
  if (route === 'manifest') {
    const reference = segmentAfter(path, 'manifests');
    if (method === 'PUT') return { action: 'manifest.push', reference };
    if (method === 'DELETE')
      return { action: reference?.includes(':') ? 'manifest.delete' : 'tag.delete', reference };
  }
  if (route === 'blob' && method === 'DELETE')
    return { action: 'blob.delete', reference: segmentAfter(path, 'blobs') };
  if (route === 'upload' && method === 'DELETE')
    return { action: 'upload.cancel', reference: segmentAfter(path, 'uploads') };
  // A finished blob upload: the PUT closing a session, or a monolithic POST or mount (201).
  if (
    (route === 'upload' && method === 'PUT') ||
    (route === 'uploads' && method === 'POST' && record.status === 201)
  ) {
    return { action: 'blob.push' };
  }
  return undefined;
}

export function auditExtension(): ExtensionFactory {
  return (ctx) => {
    if (ctx.config.log.audit === undefined) return undefined;
    const audit = auditLogFor(ctx);
    return {
      name: 'audit',
      onRequestEnd(record) {
        if (record.route === 'not-found') return;
        const what = auditActionOf(record);
        if (!what) return;
        const entry: AuditEntry = {
          action: what.action,
          user: record.user,
          repo: record.repo,
          reference: what.reference,
          digest: record.digest,
          client: record.remoteAddress,
          forwardedFor: record.forwardedFor,
          method: record.method,
          path: record.path,
          status: record.status,
          requestId: record.requestId,
        };
        audit.record(entry);
      },
      stop() {
        audit.close();
      },
    };
  };
}
