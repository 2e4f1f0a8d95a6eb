/**
 * A real OpenID Connect provider for the tests (`oidc-provider`, the certified implementation),
 * listening on loopback under an Authentik-like issuer path (`/application/o/registry/`), with
 * three users and a login form that checks their passwords:
 *
 * | user     | password      | `groups`               |
 * |----------|---------------|------------------------|
 * | `zot-ci` | `ci-password` | `artifact-workloads`   |
 * | `alice`  | `alice-pw`    | `admins`               |
 * | `bob`    | `bob-pw`      | (none)                 |
 *
 * Subjects are opaque ids (as Authentik's are), so a relying party that took the user name from
 * `sub` instead of `preferred_username` would get it wrong. Claims follow the scopes: `groups` and
 * `preferred_username` come with `profile`, `email` with `email`.
 *
 * Also here: `Browser`, a cookie-keeping HTTP client that follows redirects by hand the way a
 * browser does, and `signIn`, which drives Berth's sign-in through the provider's login form.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT, startBerth, type RunningServer } from './server.js';

export interface TestUser {
  readonly sub: string;
  readonly password: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
}

export const TEST_USERS: Readonly<Record<string, TestUser>> = Object.freeze({
  'zot-ci': {
    sub: 'u-7f3a1c',
    password: 'ci-password',
    email: 'zot-ci@example.test',
    name: 'CI service account',
    groups: ['artifact-workloads'],
  },
  alice: {
    sub: 'u-2b9e44',
    password: 'alice-pw',
    email: 'alice@example.test',
    name: 'Alice Admin',
    groups: ['admins'],
  },
  bob: { sub: 'u-c01d5e', password: 'bob-pw', email: 'bob@example.test', name: 'Bob Reader', groups: [] },
});

export const ISSUER_PATH = '/application/o/registry/';

export interface OidcProviderOptions {
  /** Redirect URIs the registered client may use (Berth's `<externalUrl>/zot/auth/callback/oidc`). */
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
  /** Listen on this port (to restart a provider where Berth expects it); any free port otherwise. */
  port?: number;
  /** Reuse the signing keys of an earlier run, so tokens and sessions stay valid across a restart. */
  keys?: ProviderKeys;
}

export interface ProviderKeys {
  jwk: Record<string, unknown>;
  cookieKey: string;
}

export interface OidcProvider {
  /** `http://127.0.0.1:PORT/application/o/registry/` */
  issuer: string;
  port: number;
  clientId: string;
  clientSecret: string;
  keys: ProviderKeys;
  /** How many logins were refused because of a wrong password. */
  refusedLogins(): number;
  stop(): Promise<void>;
}

/** The parts of oidc-provider's API these tests use (it ships no type declarations). */
interface InteractionDetails {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, unknown>;
}
interface GrantInstance {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: Record<string, unknown>,
  ): Promise<void>;
  Grant: new (fields: { accountId: string; clientId: string }) => GrantInstance;
}
type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

/** A port nobody listens on right now (for servers that must know each other's address up front). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function newKeys(): ProviderKeys {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return {
    jwk: { ...jwk, kid: `test-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' },
    cookieKey: randomBytes(32).toString('hex'),
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(action: string, problem?: string): string {
  return [
    '<!doctype html><html><head><title>Sign in</title></head><body>',
    problem === undefined ? '' : `<p class="error">${escapeHtml(problem)}</p>`,
    `<form method="post" action="${escapeHtml(action)}">`,
    '<input name="login" autocomplete="username">',
    '<input name="password" type="password" autocomplete="current-password">',
    '<button type="submit">Sign in</button>',
    '</form></body></html>',
  ].join('\n');
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Starts the provider; stop it with `stop()`. */
export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  const moduleName: string = 'oidc-provider';
  const { Provider } = (await import(moduleName)) as { Provider: ProviderClass };
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}${ISSUER_PATH}`;
  const prefix = ISSUER_PATH.slice(0, -1);
  const clientId = options.clientId ?? 'berth-test-client';
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('hex');
  const keys = options.keys ?? newKeys();
  const bySub = new Map(
    Object.entries(TEST_USERS).map(([username, user]) => [user.sub, { username, ...user }]),
  );
  let refused = 0;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [keys.jwk] },
    cookies: { keys: [keys.cookieKey] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'groups'],
    },
    features: { devInteractions: { enabled: false } },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
    },
    pkce: { required: () => true },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `${prefix}/interaction/${interaction.uid}`,
    },
    findAccount: (_ctx: unknown, sub: string) => {
      const user = bySub.get(sub);
      if (user === undefined) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          preferred_username: user.username,
          name: user.name,
          email: user.email,
          email_verified: true,
          groups: [...user.groups],
        }),
      };
    },
  });
  const callback = provider.callback();

  const interaction = async (req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> => {
    const [uid, action] = rest.split('/');
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    if (req.method === 'GET' && action === undefined) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(loginPage(`${prefix}/interaction/${uid}/login`));
      return;
    }
    if (req.method === 'POST' && action === 'login') {
      const form = await readForm(req);
      const username = form.get('login') ?? '';
      const user = TEST_USERS[username];
      if (user === undefined || user.password !== form.get('password')) {
        refused++;
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(loginPage(`${prefix}/interaction/${uid}/login`, 'Invalid user name or password'));
        return;
      }
      // Consent is implicit, as for Authentik's first-party applications.
      const grant = new provider.Grant({ accountId: user.sub, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      const claims = details.prompt.details.missingOIDCClaims;
      if (Array.isArray(claims)) grant.addOIDCClaims(claims as string[]);
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.sub }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    res.writeHead(405).end();
  };

  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith(`${prefix}/`)) {
      res.writeHead(404).end();
      return;
    }
    const rest = url.slice(prefix.length);
    if (rest.startsWith('/interaction/')) {
      interaction(req, res, rest.slice('/interaction/'.length).split('?')[0]!).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(err));
      });
      return;
    }
    // Mounted under the issuer's path: the provider sees its own routes, and reads the mount
    // path from `originalUrl`.
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
    req.url = rest;
    callback(req, res);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    issuer,
    port,
    clientId,
    clientSecret,
    keys,
    refusedLogins: () => refused,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

// --- a browser, as far as redirects and cookies go --------------------------------------------

interface StoredCookie {
  name: string;
  value: string;
  host: string;
  path: string;
  expires: number | undefined;
  httpOnly: boolean;
  sameSite: string | undefined;
  secure: boolean;
}

export interface BrowserResponse {
  status: number;
  headers: Headers;
  body: string;
  /** The URL this response came from (after redirects). */
  url: string;
}

/**
 * Keeps cookies per host (like a browser: not per port) with their paths and expiry, and follows
 * redirects one hop at a time, so tests can see every hop. No JavaScript.
 */
/** Longest a test request may wait for its answer's headers and body. */
const REQUEST_TIMEOUT_MS = 60_000;

export class Browser {
  readonly cookies: StoredCookie[] = [];
  /** Every URL requested, in order. */
  readonly visited: string[] = [];
  /** Every answer received: where from, its status and its `Location`. */
  readonly hops: Array<{ url: string; status: number; location: string | null }> = [];

  cookie(host: string, name: string): StoredCookie | undefined {
    return this.#live().find((c) => c.host === host && c.name === name);
  }

  /** The `Cookie` header a request to `url` carries. */
  cookieHeader(url: string): string | undefined {
    const u = new URL(url);
    const matching = this.#live().filter(
      (c) => c.host === u.hostname && u.pathname.startsWith(c.path) && (!c.secure || u.protocol === 'https:'),
    );
    return matching.length === 0 ? undefined : matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** One request, no redirect following. */
  async request(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<BrowserResponse> {
    this.visited.push(url);
    const headers: Record<string, string> = { Accept: 'text/html,application/json;q=0.9', ...init.headers };
    const cookie = this.cookieHeader(url);
    if (cookie !== undefined) headers.Cookie = cookie;
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      body: init.body,
      redirect: 'manual',
      // A server that never answers fails the test with the URL, not the file's 10-minute timeout.
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    this.#store(url, res.headers.getSetCookie());
    this.hops.push({ url, status: res.status, location: res.headers.get('location') });
    return { status: res.status, headers: res.headers, body: await res.text(), url };
  }

  /** Requests `url` and follows redirects (GET after each) until an answer that is not one. */
  async follow(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
    maxHops = 20,
  ): Promise<BrowserResponse> {
    let res = await this.request(url, init);
    for (let hop = 0; hop < maxHops && res.status >= 300 && res.status < 400; hop++) {
      const location = res.headers.get('location');
      if (location === null) break;
      res = await this.request(new URL(location, res.url).href);
    }
    return res;
  }

  #live(): StoredCookie[] {
    const now = Date.now();
    return this.cookies.filter((c) => c.expires === undefined || c.expires > now);
  }

  #store(url: string, setCookies: string[]): void {
    const u = new URL(url);
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const cookie: StoredCookie = {
        name: pair.slice(0, eq),
        value: pair.slice(eq + 1),
        host: u.hostname,
        path: '/',
        expires: undefined,
        httpOnly: false,
        sameSite: undefined,
        secure: false,
      };
      for (const attribute of attributes) {
        const [key = '', value = ''] = attribute.split('=');
        switch (key.toLowerCase()) {
          case 'path':
            cookie.path = value;
            break;
          case 'max-age':
            cookie.expires = Date.now() + Number(value) * 1000;
            break;
          case 'expires':
            cookie.expires ??= Date.parse(value);
            break;
          case 'httponly':
            cookie.httpOnly = true;
            break;
          case 'samesite':
            cookie.sameSite = value;
            break;
          case 'secure':
            cookie.secure = true;
            break;
        }
      }
      const at = this.cookies.findIndex(
        (c) => c.host === cookie.host && c.name === cookie.name && c.path === cookie.path,
      );
      if (at !== -1) this.cookies.splice(at, 1);
      this.cookies.push(cookie);
    }
  }
}

/** The login form's action, from the provider's page. */
export function formAction(page: BrowserResponse): string {
  const match = /<form method="post" action="([^"]+)"/.exec(page.body);
  if (match?.[1] === undefined) throw new Error(`no login form at ${page.url}:\n${page.body.slice(0, 500)}`);
  return new URL(match[1].replace(/&#38;/g, '&'), page.url).href;
}

export interface SignInResult {
  browser: Browser;
  /** Where the browser ended up, after the last redirect. */
  landing: BrowserResponse;
  /** Where Berth's callback sent the browser (the checked `callback_ui`), absolute. */
  redirectedTo: string;
  /** The provider's login page, as first shown; undefined when the provider still had a session. */
  loginPage: BrowserResponse | undefined;
}

/**
 * Signs in to Berth the way the web UI's "Sign in with OIDC" button does: navigate to
 * `/zot/auth/login?provider=oidc&callback_ui=…`, follow the redirects to the provider's login page,
 * submit the form, follow the redirects back. `callbackUi` is sent as given.
 */
export async function signIn(
  berthUrl: string,
  username: string,
  password: string,
  callbackUi = '/home',
  browser = new Browser(),
): Promise<SignInResult> {
  const start = `${berthUrl}/zot/auth/login?provider=oidc&callback_ui=${encodeURIComponent(callbackUi)}`;
  const hopsBefore = browser.hops.length;
  const first = await browser.follow(start);
  // A browser that still has a session at the provider goes straight back (single sign-on).
  const backAlready = browser.hops
    .slice(hopsBefore)
    .some((h) => h.url.startsWith(`${berthUrl}/zot/auth/callback/`));
  let loginPage: BrowserResponse | undefined;
  let landing = first;
  if (!backAlready) {
    loginPage = first;
    if (loginPage.status !== 200)
      throw new Error(`no login page: ${loginPage.status} at ${loginPage.url}\n${loginPage.body}`);
    landing = await browser.follow(formAction(loginPage), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: username, password }).toString(),
    });
  }
  const callback = browser.hops
    .slice(hopsBefore)
    .find((h) => h.url.startsWith(`${berthUrl}/zot/auth/callback/`));
  if (callback?.location == null)
    throw new Error(`Berth's callback did not redirect (${callback?.status ?? 'never reached'})`);
  return { browser, landing, loginPage, redirectedTo: new URL(callback.location, callback.url).href };
}

// --- our first user's registry, on loopback -----------------------------------------------------

/**
 * The user's production config (the file Berth must take unchanged), kept in the repository as a
 * fixture so that the suite needs nothing beside the clone.
 */
export const USER_CONFIG_PATH = path.join(PROJECT_ROOT, 'test/fixtures/zot-config.example.json');

export type HomelabUser = 'zot-ci' | 'alice' | 'bob';
export const UI_HEADER = { 'X-ZOT-API-CLIENT': 'zot-ui' } as const;

export interface Homelab {
  provider: OidcProvider;
  berth: RunningServer;
  /** `http://127.0.0.1:PORT`, also `http.externalUrl`. */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** The config Berth runs with (the user's, adapted). */
  config: Record<string, unknown>;
  /** One API key per user, each created through Berth's API in a browser session after OIDC sign-in. */
  keys: Record<HomelabUser, string>;
  /** The signed-in browser of each user. */
  browsers: Record<HomelabUser, Browser>;
  /** Creates an API key in `user`'s browser session (`POST /zot/auth/apikey`, as the web UI does). */
  createKey(
    user: HomelabUser,
    body?: Record<string, unknown>,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Restarts Berth on the same port and storage (sessions, keys and content must survive). */
  restartBerth(): Promise<void>;
  stop(): Promise<void>;
}

export interface HomelabOptions {
  /** Changes to the adapted config (a test of one setting); applied last. */
  adapt?: (config: Record<string, unknown>) => void;
  /** Skip signing in and creating keys. */
  withoutKeys?: boolean;
}

/** The parts of the user's config that get adapted. */
interface UserConfig {
  storage: { rootDirectory?: string };
  http: {
    address: string;
    port: string;
    externalUrl: string;
    auth: { openid: { providers: { oidc: { issuer: string; credentialsFile: string } } } };
  };
}

/**
 * The user's `zot-config.example.json`, adapted only in host names, ports and paths: storage in a
 * temporary folder, listening on loopback at `port`, `externalUrl` = that address, the OIDC issuer
 * = the test provider, `credentialsFile` = a file written here. Everything else as the user has it.
 */
export async function homelabConfig(
  port: number,
  issuer: string,
  credentialsFile: string,
): Promise<Record<string, unknown>> {
  const config = JSON.parse(await readFile(USER_CONFIG_PATH, 'utf8')) as UserConfig;
  delete config.storage.rootDirectory;
  config.http.address = '127.0.0.1';
  config.http.port = String(port);
  config.http.externalUrl = `http://127.0.0.1:${port}`;
  const oidc = config.http.auth.openid.providers.oidc;
  oidc.issuer = issuer;
  oidc.credentialsFile = credentialsFile;
  return config as unknown as Record<string, unknown>;
}

/**
 * Starts the test provider and Berth with the user's config, signs `zot-ci`, `alice` and `bob` in
 * through the provider's login form, and creates an API key for each through Berth's API.
 */
export async function startHomelab(options: HomelabOptions = {}): Promise<Homelab> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const provider = await startOidcProvider({ redirectUris: [`${url}/zot/auth/callback/oidc`] });
  const credentialsFile = path.join(
    await import('node:os').then((os) => os.tmpdir()),
    `berth-oidc-${port}-${randomBytes(4).toString('hex')}.json`,
  );
  await writeFile(
    credentialsFile,
    JSON.stringify({ clientid: provider.clientId, clientsecret: provider.clientSecret }),
    { mode: 0o600 },
  );
  let berth: RunningServer;
  let config: Awaited<ReturnType<typeof homelabConfig>>;
  try {
    config = await homelabConfig(port, provider.issuer, credentialsFile);
    options.adapt?.(config);
    berth = await startBerth({ config, port });
  } catch (err) {
    // Whatever failed, the provider this function started must not keep the test process alive.
    await provider.stop();
    await rm(credentialsFile, { force: true });
    throw err;
  }
  const browsers = {} as Record<HomelabUser, Browser>;
  const keys = {} as Record<HomelabUser, string>;

  const createKey = async (user: HomelabUser, body: Record<string, unknown> = { label: `${user}-key` }) => {
    const browser = browsers[user];
    if (browser === undefined) throw new Error(`${user} is not signed in`);
    const res = await browser.request(`${url}/zot/auth/apikey`, {
      method: 'POST',
      headers: { ...UI_HEADER, 'Content-Type': 'application/json', Origin: url },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: JSON.parse(res.body || '{}') as Record<string, unknown> };
  };

  const homelab: Homelab = {
    provider,
    get berth() {
      return berth;
    },
    url,
    host: `127.0.0.1:${port}`,
    config,
    keys,
    browsers,
    createKey,
    restartBerth: async () => {
      await berth.kill();
      berth = await startBerth({ config, port, root: berth.root, cleanup: true });
    },
    stop: async () => {
      await berth.stop();
      // A test may have replaced the provider (restarted it); stop the current one.
      await homelab.provider.stop();
      await rm(credentialsFile, { force: true });
    },
  };
  if (options.withoutKeys === true) return homelab;
  try {
    for (const user of Object.keys(TEST_USERS) as HomelabUser[]) {
      const { browser, landing } = await signIn(url, user, TEST_USERS[user]!.password);
      if (browser.cookie('127.0.0.1', 'session') === undefined)
        throw new Error(`${user}: no session after sign-in (${landing.status} at ${landing.url})`);
      browsers[user] = browser;
      const created = await createKey(user);
      if (created.status !== 201 || typeof created.json.apiKey !== 'string')
        throw new Error(`${user}: key creation answered ${created.status}`);
      keys[user] = created.json.apiKey;
    }
  } catch (err) {
    await homelab.stop();
    throw err;
  }
  return homelab;
}
