/**
 * How the sign-in routes explain a failure: a small page for a browser (with a way back), the
 * spec's error envelope for everything else. Messages name what went wrong, never a secret.
 */
import { wireCode, type ErrorCode } from '../../oci/errors.js';
import type { RequestContext } from '../context.js';
import { sendJson, statusOf } from '../respond.js';
import { wantsHtml } from './request-info.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function sendSignInProblem(
  ctx: RequestContext,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  const status = statusOf(code);
  if (!wantsHtml(ctx)) {
    sendJson(
      ctx,
      status,
      { errors: [{ code: wireCode(code), message }] },
      { 'Cache-Control': 'no-store', ...headers },
    );
    return;
  }
  const body = Buffer.from(
    [
      '<!doctype html>',
      '<html lang="en"><head><meta charset="utf-8"><title>Sign-in failed</title></head>',
      '<body><h1>Sign-in failed</h1>',
      `<p>${escapeHtml(message)}</p>`,
      '<p><a href="/login">Back to the sign-in page</a></p>',
      '</body></html>',
    ].join('\n'),
  );
  ctx.res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'",
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
}
