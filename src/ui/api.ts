/**
 * The UI's JSON API, under Berth's own prefix `/_berth/ui/api/`. Read-only: every change the UI
 * makes goes through the registry's own routes (`DELETE /v2/...`, `/zot/auth/apikey`), so it obeys
 * exactly the rules CLI clients obey.
 *
 * Every answer is filtered with the same policy as `/v2/`: a repository the caller may not `read`
 * does not appear in lists and answers 404 (not 403), so its existence is not revealed either.
 *
 * | route                                   | answers                                                  |
 * |-----------------------------------------|----------------------------------------------------------|
 * | `GET session`                           | the caller, whether guests may browse, the ways to sign in, the registry's host |
 * | `GET repositories?q&sort&dir&page&perPage` | one page of repository summaries, and the total       |
 * | `GET repository?name&q&sort&page&perPage`  | a repository's summary and one page of its tags       |
 * | `GET image?name&reference`              | a manifest (tag or digest) with config, layers, referrers |
 * | `GET vulnerabilities?name&reference`    | an image's vulnerabilities (404 when scanning is off)    |
 *
 * With vulnerability scanning on, repository summaries carry `vulnerabilities`: counts by severity
 * of their newest image, or null while it is not scanned.
 */
import { isAnonymous, type Identity } from '../auth/identity.js';
import { OPENID_PROVIDERS, type Config } from '../config/index.js';
import type { AccessGuard } from '../http/access.js';
import type { RequestContext } from '../http/context.js';
import { sendJson } from '../http/respond.js';
import type { PlainRoute } from '../http/server.js';
import type { Registry } from '../registry/registry.js';
import type { ManifestRecord } from '../meta/registry-index.js';
import { RegistryError } from '../oci/errors.js';
import { isValidRepositoryName, isValidTag } from '../oci/names.js';
import { tryParseDigest } from '../oci/digest.js';
import type { ContentReader } from './content.js';
import type { RepoSort, SortDirection, TagSort, UiSummaries as UiQueries } from '../meta/ui-summaries.js';
import { SECURITY_HEADERS } from './security-headers.js';
import { VisibleRepositories } from './visibility.js';
import type { UiVulnerabilities } from './vulnerabilities.js';

export const API_PREFIX = '/_berth/ui/api/';

const MAX_PER_PAGE = 100;
const DEFAULT_PER_PAGE = 50;
const MAX_FILTER = 256;

export interface ApiDeps {
  config: Config;
  access: AccessGuard;
  registry: Registry;
  queries: UiQueries;
  content: ContentReader;
  /** Present when vulnerability scanning is on. */
  vulnerabilities?: UiVulnerabilities;
}

/** A way to sign in, as the sign-in page shows it. */
export interface SignInProvider {
  /** The key under `openid.providers` (`oidc`, `github`...): `/zot/auth/login?provider=<id>`. */
  id: string;
  label: string;
}

const PROVIDER_LABELS: Record<string, string> = {
  oidc: 'OIDC',
  github: 'GitHub',
  google: 'Google',
  gitlab: 'GitLab',
};

/** The ways to sign in from a browser: OpenID Connect providers (GitHub's OAuth2 is not offered), passwords. */
export function signInOptions(config: Config): {
  providers: SignInProvider[];
  password: boolean;
  apiKeys: boolean;
} {
  const auth = config.http.auth;
  const providers = Object.entries(auth?.openid?.providers ?? {})
    .filter(([id, p]) => (OPENID_PROVIDERS as readonly string[]).includes(id) && p.issuer !== undefined)
    .map(([id, p]) => ({ id, label: p.name ?? PROVIDER_LABELS[id] ?? id }));
  return { providers, password: Boolean(auth?.htpasswd || auth?.ldap), apiKeys: Boolean(auth?.apikey) };
}

/** The host (and port) of `http.externalUrl`: what pull commands start with. */
export function registryHost(config: Config): string | null {
  const external = config.http.externalUrl;
  if (!external) return null;
  try {
    return new URL(external).host || null;
  } catch {
    return null;
  }
}

function param(ctx: RequestContext, name: string, max = MAX_FILTER): string {
  const value = ctx.url.searchParams.get(name) ?? '';
  if (value.length > max) throw new RegistryError('BAD_REQUEST', `${name} is too long`);
  return value;
}

function choice<T extends string>(ctx: RequestContext, name: string, allowed: readonly T[], fallback: T): T {
  const value = ctx.url.searchParams.get(name);
  if (value === null || value === '') return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new RegistryError('BAD_REQUEST', `${name} must be one of ${allowed.join(', ')}`);
}

function positive(ctx: RequestContext, name: string, fallback: number, max: number): number {
  const value = ctx.url.searchParams.get(name);
  if (value === null || value === '') return fallback;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) {
    throw new RegistryError('BAD_REQUEST', `${name} must be a positive integer`);
  }
  return Math.min(Number(value), max);
}

function notFound(name: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', `repository ${name} not known to registry`, { detail: { name } });
}

/** The page of `items` that `page` (from 1) and `perPage` select, with the paging facts. */
function paginate<T>(
  items: T[],
  page: number,
  perPage: number,
): { total: number; page: number; perPage: number; items: T[] } {
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const current = Math.min(page, lastPage);
  return {
    total: items.length,
    page: current,
    perPage,
    items: items.slice((current - 1) * perPage, current * perPage),
  };
}

export function apiRoutes(deps: ApiDeps): PlainRoute {
  const { access, queries, content, registry, config, vulnerabilities } = deps;
  const visibility = new VisibleRepositories(access);

  /** The caller, for read endpoints: bad credentials are a 401 like everywhere else. */
  const readableRepo = async (ctx: RequestContext): Promise<{ identity: Identity; name: string }> => {
    const identity = await access.authenticate(ctx);
    ctx.identity = identity;
    const name = param(ctx, 'name');
    if (!isValidRepositoryName(name) || !access.can(identity, 'read', name)) throw notFound(name);
    ctx.repo = name;
    return { identity, name };
  };

  const session = async (ctx: RequestContext): Promise<void> => {
    // Anonymous callers get an answer even from a registry closed to them: the sign-in page needs
    // it. An expired session reads as nobody signed in; bad Basic credentials still get 401.
    const identity = await access.authenticate(ctx, { anonymous: 'allow' });
    ctx.identity = identity;
    sendJson(ctx, 200, {
      user: isAnonymous(identity)
        ? null
        : {
            name: identity.username,
            groups: access.policy.groupsOf(identity),
            method: identity.method,
            // Admins get the service-account section of the API-key page (/berth/admin/apikeys).
            admin: access.policy.isAdmin(identity),
          },
      guest: access.policy.anonymousMayRead(),
      signIn: signInOptions(config),
      registryHost: registryHost(config),
      vulnerabilityScanning: vulnerabilities !== undefined,
    });
  };

  const repositories = async (ctx: RequestContext): Promise<void> => {
    const identity = await access.authenticate(ctx);
    ctx.identity = identity;
    const filter = param(ctx, 'q');
    const sort = choice<RepoSort>(ctx, 'sort', ['name', 'updated', 'size'], 'name');
    const direction = choice<SortDirection>(ctx, 'dir', ['asc', 'desc'], sort === 'name' ? 'asc' : 'desc');
    const page = positive(ctx, 'page', 1, 1e9);
    const perPage = positive(ctx, 'perPage', DEFAULT_PER_PAGE, MAX_PER_PAGE);
    await queries.ensureFresh();
    const ordered = await queries.orderedNames(sort, direction);
    const readable = visibility.filter(identity, `${sort}:${direction}`, queries.generation, ordered);
    const needle = filter.trim().toLowerCase();
    const visible = needle === '' ? readable : readable.filter((name) => name.includes(needle));
    const result = paginate(visible, page, perPage);
    const summaries = (await Promise.all(result.items.map((name) => queries.summary(name)))).flatMap(
      (s) => s ?? [],
    );
    const infos = await Promise.all(
      summaries.map((s) =>
        s.newestDigest
          ? content.info(s.name, s.newestDigest).catch(() => undefined)
          : Promise.resolve(undefined),
      ),
    );
    const counts = vulnerabilities
      ? await Promise.all(
          summaries.map((s) =>
            s.newestDigest ? vulnerabilities.countsFor(s.name, s.newestDigest) : Promise.resolve(null),
          ),
        )
      : undefined;
    sendJson(ctx, 200, {
      ...result,
      items: summaries.map((s, i) => ({
        ...s,
        platforms: infos[i]?.platforms ?? [],
        ...(counts ? { vulnerabilities: counts[i] } : {}),
      })),
    });
  };

  const repository = async (ctx: RequestContext): Promise<void> => {
    const { identity, name } = await readableRepo(ctx);
    const filter = param(ctx, 'q');
    const sort = choice<TagSort>(ctx, 'sort', ['pushed', 'name'], 'pushed');
    const page = positive(ctx, 'page', 1, 1e9);
    const perPage = positive(ctx, 'perPage', DEFAULT_PER_PAGE, MAX_PER_PAGE);
    await queries.ensureFresh();
    const summary = await queries.summary(name);
    if (!summary) throw notFound(name);
    // One page from the database, not every tag sorted and sliced here: the page's cost stays
    // flat however many tags the repository holds.
    const total = await queries.tagMatches(name, filter);
    const current = Math.min(page, Math.max(1, Math.ceil(total / perPage)));
    const tags = {
      total,
      page: current,
      perPage,
      items: await queries.tags(name, filter, sort, { offset: (current - 1) * perPage, limit: perPage }),
    };
    const infos = await content.infos(
      name,
      tags.items.map((t) => t.digest),
    );
    sendJson(ctx, 200, {
      ...summary,
      canDelete: access.can(identity, 'delete', name),
      tags: {
        ...tags,
        items: tags.items.map((t) => {
          const info = infos.get(t.digest);
          return { ...t, imageSize: info?.imageSize ?? t.manifestSize, platforms: info?.platforms ?? [] };
        }),
      },
    });
  };

  /** The manifest a `reference` (tag or digest) names, or the spec's 400/404. */
  const manifestRecord = async (name: string, reference: string): Promise<ManifestRecord> => {
    const digest = reference.includes(':') ? tryParseDigest(reference) : undefined;
    if (!digest && !isValidTag(reference)) {
      throw new RegistryError('MANIFEST_INVALID', 'reference must be a tag or a digest');
    }
    const record = digest
      ? await registry.index.manifest(name, digest.value)
      : await registry.index.resolveTag(name, reference);
    if (!record) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} unknown to ${name}`);
    return record;
  };

  const image = async (ctx: RequestContext): Promise<void> => {
    const { identity, name } = await readableRepo(ctx);
    const reference = param(ctx, 'reference');
    const record = await manifestRecord(name, reference);
    const view = await content.image(name, record);
    if (!view) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} unknown to ${name}`);
    sendJson(ctx, 200, { ...view, reference, canDelete: access.can(identity, 'delete', name) });
  };

  const imageVulnerabilities = async (ctx: RequestContext): Promise<void> => {
    const { name } = await readableRepo(ctx);
    if (!vulnerabilities) throw new RegistryError('NOT_FOUND', 'vulnerability scanning is off');
    const record = await manifestRecord(name, param(ctx, 'reference'));
    sendJson(ctx, 200, {
      reference: param(ctx, 'reference'),
      digest: record.digest,
      ...(await vulnerabilities.forImage(name, record.digest)),
    });
  };

  const endpoints: Record<string, (ctx: RequestContext) => Promise<void>> = {
    session,
    repositories,
    repository,
    image,
    vulnerabilities: imageVulnerabilities,
  };

  return async (ctx) => {
    if (!ctx.url.pathname.startsWith(API_PREFIX)) return false;
    const endpoint = endpoints[ctx.url.pathname.slice(API_PREFIX.length)];
    if (!endpoint) return false;
    ctx.route = 'ui-api';
    // Set before anything can fail, so error answers carry them too.
    for (const [key, value] of Object.entries(SECURITY_HEADERS)) ctx.res.setHeader(key, value as string);
    ctx.res.setHeader('Cache-Control', 'no-store');
    const method = ctx.req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      ctx.res.setHeader('Allow', 'GET, HEAD');
      throw new RegistryError('UNSUPPORTED', `${method} is not supported here`);
    }
    await endpoint(ctx);
    return true;
  };
}
