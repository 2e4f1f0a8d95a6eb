// Pieces several pages use: filter-as-you-type, pagination, breadcrumbs, key/value tables, pull commands.
import { copyField } from '../lib/clipboard.js';
import { h, isTyping } from '../lib/dom.js';
import { paths } from '../lib/paths.js';

/**
 * Filter-as-you-type on a search field: `apply(query)` runs 120 ms after the last keystroke,
 * Escape clears the field, and `/` anywhere on the page (outside other fields) focuses it.
 * Returns `applyNow()`, which cancels the pending run and applies at once (returns apply's result).
 */
export function liveFilter(filter, apply, signal) {
  let timer;
  const applyNow = () => {
    clearTimeout(timer);
    return apply(filter.value.trim());
  };
  filter.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(applyNow, 120);
  });
  filter.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && filter.value) {
      event.preventDefault();
      filter.value = '';
      filter.dispatchEvent(new Event('input'));
    }
  });
  document.addEventListener(
    'keydown',
    (event) => {
      if (event.key === '/' && !isTyping(event) && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        filter.focus();
        filter.select();
      }
    },
    { signal },
  );
  return { applyNow };
}

/** Previous / next buttons with "Page X of Y"; `go(page)` loads another page. */
export function pager(data, go) {
  const pages = Math.max(1, Math.ceil(data.total / data.perPage));
  if (pages <= 1) return null;
  const button = (label, page, disabled, rel) =>
    h(
      'button',
      {
        type: 'button',
        class: 'button button-small',
        disabled,
        'aria-label': `${label} page`,
        dataset: { rel },
        onClick: () => go(page),
      },
      rel === 'prev' ? '‹ Previous' : 'Next ›',
    );
  return h(
    'nav',
    { class: 'pagination', 'aria-label': 'Pages' },
    button('Previous', data.page - 1, data.page <= 1, 'prev'),
    h(
      'span',
      { class: 'pagination-status' },
      `Page ${data.page.toLocaleString()} of ${pages.toLocaleString()}`,
    ),
    button('Next', data.page + 1, data.page >= pages, 'next'),
  );
}

/** "Repositories / team/app / v1.2" */
export function breadcrumbs(...items) {
  return h(
    'nav',
    { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' },
    h(
      'ol',
      null,
      h('li', null, h('a', { href: paths.home() }, 'Repositories')),
      items.map(([label, href]) =>
        h('li', null, href ? h('a', { href }, label) : h('span', { 'aria-current': 'page' }, label)),
      ),
    ),
  );
}

/** A two-column table of string pairs (labels, annotations); `empty` when there are none. */
export function keyValues(map, caption, empty) {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return h('p', { class: 'muted' }, empty);
  return h(
    'table',
    { class: 'table table-kv' },
    h('caption', { class: 'visually-hidden' }, caption),
    h(
      'tbody',
      null,
      entries.map(([key, value]) =>
        h(
          'tr',
          null,
          h('th', { scope: 'row', class: 'mono' }, key),
          h('td', { class: 'wrap' }, linkify(value)),
        ),
      ),
    ),
  );
}

/** Shows http(s) URLs in values as links that open elsewhere without leaking this page's address. */
function linkify(value) {
  if (/^https?:\/\/[^\s]+$/.test(value)) {
    return h('a', { href: value, rel: 'noopener noreferrer', target: '_blank' }, value);
  }
  return value;
}

/** The host pull commands start with: `http.externalUrl`'s, or the one this page came from. */
export function registryHost(session) {
  return session?.registryHost ?? location.host;
}

/** Read-only pull references with copy buttons. */
export function pullReferences(session, name, { tag, digest }) {
  const host = registryHost(session);
  const rows = [];
  if (tag) rows.push(copyField(`${host}/${name}:${tag}`, `pull reference ${name}:${tag}`));
  if (digest) rows.push(copyField(`${host}/${name}@${digest}`, `pull reference ${name}@${digest}`));
  return h('div', { class: 'pull-refs' }, rows);
}
