import { RegistryError } from './errors.js';

export interface PageRequest {
  /** Undefined: everything. */
  n?: number;
  last?: string;
}

/** Upper bound on one page, so that `n=1e9` cannot make one response unbounded. */
export const MAX_PAGE_SIZE = 10_000;

export function parsePageRequest(query: URLSearchParams): PageRequest {
  const page: PageRequest = {};
  const n = query.get('n');
  if (n !== null) {
    if (!/^\d+$/.test(n)) throw new RegistryError('BAD_REQUEST', 'n must be a non-negative integer');
    page.n = Math.min(Number(n), MAX_PAGE_SIZE);
  }
  const last = query.get('last');
  if (last !== null && last !== '') page.last = last;
  return page;
}

/** RFC 5988 `Link` header value for the next page. */
export function nextPageLink(
  path: string,
  n: number,
  last: string,
  extra: Record<string, string> = {},
): string {
  const params = new URLSearchParams({ ...extra, n: String(n), last });
  return `<${path}?${params.toString()}>; rel="next"`;
}
