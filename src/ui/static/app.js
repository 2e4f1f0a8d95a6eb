// The UI's entry point: who is signed in, the header, and which page a location shows.
// Pages are modules exporting `render(ctx)`; links inside the app are followed without reloading.
import { auth, setUnauthorizedHandler, ui } from './lib/api.js';
import { h, notice, replace } from './lib/dom.js';
import { paths, route } from './lib/paths.js';
import * as apiKeys from './pages/api-keys.js';
import * as image from './pages/image.js';
import * as login from './pages/login.js';
import * as notFound from './pages/not-found.js';
import * as repositories from './pages/repositories.js';
import * as repository from './pages/repository.js';

const PAGES = { login, repositories, repository, image, apiKeys, notFound };

const state = { session: null, guest: false };
let renderCount = 0;
let controller;

async function loadSession() {
  const session = await ui.session();
  state.session = session;
  state.guest = session.guest === true;
}

function signedIn() {
  return Boolean(state.session?.user);
}

/** Goes to a path inside the UI. `replace` keeps the history entry (redirects). */
export function navigate(path, options = {}) {
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render({ focus: !options.replace || options.focus, recheck: !options.replace });
}

function setTitle(title) {
  document.title = title ? `${title} · Berth` : 'Berth';
}

async function signOut(button) {
  button.disabled = true;
  try {
    const { endSessionUrl } = await auth.signOut();
    state.session = { ...state.session, user: null };
    if (endSessionUrl) {
      location.assign(endSessionUrl);
      return;
    }
    navigate(paths.login({ reason: 'signed-out' }));
  } catch {
    button.disabled = false;
  }
}

function renderHeader(page) {
  const header = document.getElementById('site-header');
  const user = state.session?.user;
  const link = (href, label, current) =>
    h('a', { href, class: 'nav-link', 'aria-current': current ? 'page' : undefined }, label);
  const nav = h(
    'nav',
    { class: 'nav', 'aria-label': 'Main' },
    link(paths.home(), 'Repositories', page === 'repositories'),
    user && state.session.signIn?.apiKeys ? link(paths.apiKeys(), 'API keys', page === 'apiKeys') : null,
  );
  let account;
  if (user) {
    const groups = Array.isArray(user.groups) ? user.groups : [];
    const shown = groups.slice(0, 3).join(', ') + (groups.length > 3 ? ` +${groups.length - 3}` : '');
    const out = h('button', { type: 'button', class: 'button button-small', id: 'sign-out' }, 'Sign out');
    out.addEventListener('click', () => signOut(out));
    account = h(
      'div',
      { class: 'account' },
      h(
        'div',
        { class: 'account-who' },
        h(
          'span',
          { class: 'account-name', id: 'current-user', title: `Signed in as ${user.name}` },
          user.name,
        ),
        groups.length > 0
          ? h('span', { class: 'account-groups', title: `Groups: ${groups.join(', ')}` }, shown)
          : h('span', { class: 'account-groups muted' }, 'no groups'),
      ),
      out,
    );
  } else if (
    page !== 'login' &&
    (state.session?.signIn?.providers?.length || state.session?.signIn?.password)
  ) {
    const next = location.pathname + location.search;
    account = h(
      'div',
      { class: 'account' },
      h('a', { class: 'button button-small', href: paths.login({ next }) }, 'Sign in'),
    );
  }
  replace(
    header,
    h(
      'a',
      { class: 'brand', href: paths.home() },
      h('img', { src: new URL('./icon.svg', import.meta.url).pathname, alt: '', width: 24, height: 24 }),
      h('span', null, 'Berth'),
    ),
    nav,
    account,
  );
}

function errorView(err) {
  const message = err?.message ?? String(err);
  return h(
    'section',
    { class: 'page' },
    h('h1', { tabindex: '-1' }, 'Something went wrong'),
    notice('error', message),
    h('p', null, h('a', { href: paths.home() }, 'Back to the repositories')),
  );
}

/** Renders the page for the current location. */
async function render(options = {}) {
  const count = ++renderCount;
  controller?.abort();
  controller = new AbortController();
  const { page, params } = route(location);
  const query = new URLSearchParams(location.search);
  const next = location.pathname + location.search;
  if (options.recheck && signedIn()) {
    // Sessions end (2 h, sign-out elsewhere, revoked): notice it on the next page, as zot's UI does
    // on its next 401, instead of showing a signed-in header over anonymous answers.
    try {
      await loadSession();
    } catch {
      // the page's own request will report the problem
    }
    if (count !== renderCount) return;
    if (!signedIn() && page !== 'login') {
      history.replaceState(null, '', paths.login({ next, reason: 'expired' }));
      return render({ focus: true });
    }
  }
  if (page !== 'login' && !signedIn() && !state.guest) {
    history.replaceState(null, '', paths.login({ next }));
    return render(options);
  }
  if (page === 'apiKeys' && !signedIn()) {
    history.replaceState(null, '', paths.login({ next }));
    return render(options);
  }
  renderHeader(page);
  const main = document.getElementById('main');
  main.setAttribute('aria-busy', 'true');
  const ctx = {
    main,
    params,
    query,
    session: state.session,
    guest: state.guest,
    signal: controller.signal,
    navigate,
    setTitle,
    isCurrent: () => count === renderCount,
    refreshSession: async () => {
      await loadSession();
      renderHeader(page);
      return state.session;
    },
  };
  try {
    await PAGES[page].render(ctx);
  } catch (err) {
    if (count !== renderCount || err?.name === 'AbortError') return;
    setTitle('Error');
    replace(main, errorView(err));
  } finally {
    if (count === renderCount) main.removeAttribute('aria-busy');
  }
  if (count === renderCount && options.focus) {
    // Move focus to the new page's heading, as a full page load would start from the top.
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
}

const APP_PATHS = /^\/(login|home|explore|image|user)(\/|$)/;

function isAppPath(pathname) {
  return pathname === '/' || APP_PATHS.test(pathname);
}

/** Follows links to the UI's own pages without reloading. */
function onClick(event) {
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  const link = event.target instanceof Element ? event.target.closest('a[href]') : null;
  if (!link || link.target || link.hasAttribute('download')) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin) return;
  // Only the UI's own pages; anything else (sign-in at a provider, /v2/ ...) loads normally.
  if (!isAppPath(url.pathname)) return;
  event.preventDefault();
  if (url.pathname === location.pathname && url.search === location.search && url.hash) {
    const target = document.getElementById(decodeURIComponent(url.hash.slice(1)));
    if (target) {
      if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: 'start' });
    }
    return;
  }
  navigate(url.pathname + url.search + url.hash);
}

async function start() {
  setUnauthorizedHandler(() => {
    // A session that expired (or was revoked) mid-visit: sign-in again, then come back here.
    const wasSignedIn = signedIn();
    if (state.session) state.session = { ...state.session, user: null };
    document.cookie = 'user=; Max-Age=0; path=/; SameSite=Lax';
    const next = location.pathname + location.search;
    if (route(location).page !== 'login')
      navigate(paths.login({ next, reason: wasSignedIn ? 'expired' : undefined }), { replace: true });
  });
  document.addEventListener('click', onClick);
  window.addEventListener('popstate', () => void render({ focus: true, recheck: true }));
  try {
    await loadSession();
  } catch (err) {
    replace(document.getElementById('main'), errorView(err));
    return;
  }
  await render();
}

void start();
