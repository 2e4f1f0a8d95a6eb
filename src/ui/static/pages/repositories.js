// The repository list: filter as you type, sort, pages fetched from the server (fast with tens of
// thousands of repositories). Keyboard: `/` focuses the filter, ↓/↑ move through the results,
// Escape clears the filter.
import { ui } from '../lib/api.js';
import { h, notice, replace } from '../lib/dom.js';
import { bytes, platforms, timeAgo } from '../lib/format.js';
import { paths } from '../lib/paths.js';
import { liveFilter, pager } from './shared.js';
import { severityCounts } from './vulnerabilities.js';

const SORTS = [
  ['name-asc', 'Name (A–Z)'],
  ['name-desc', 'Name (Z–A)'],
  ['updated-desc', 'Recently updated'],
  ['updated-asc', 'Least recently updated'],
  ['size-desc', 'Largest first'],
  ['size-asc', 'Smallest first'],
];
const PER_PAGE = 50;

function validSort(value) {
  return SORTS.some(([key]) => key === value) ? value : 'name-asc';
}

/** Moves focus between result links with the arrow keys. */
function arrowNavigation(event, filter, table) {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
  const links = [...table.querySelectorAll('a.row-link')];
  if (links.length === 0) return;
  const at = links.indexOf(document.activeElement);
  let target;
  if (document.activeElement === filter) target = event.key === 'ArrowDown' ? links[0] : undefined;
  else if (at !== -1) target = event.key === 'ArrowDown' ? links[at + 1] : at === 0 ? filter : links[at - 1];
  if (target) {
    event.preventDefault();
    target.focus();
  }
}

export async function render(ctx) {
  const { main, query, session } = ctx;
  ctx.setTitle('Repositories');
  const state = {
    q: query.get('q') ?? query.get('search') ?? '',
    sort: validSort(query.get('sort')),
    page: Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1),
  };

  const filter = h('input', {
    id: 'repo-filter',
    type: 'search',
    value: state.q,
    placeholder: 'Filter by name',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'repo-filter-hint',
    'aria-controls': 'repo-results',
  });
  const sort = h(
    'select',
    { id: 'repo-sort' },
    SORTS.map(([value, label]) => h('option', { value, selected: value === state.sort }, label)),
  );
  const status = h('p', { class: 'result-count', role: 'status', id: 'repo-count' });
  const results = h('div', { id: 'repo-results', class: 'results' });
  const pagination = h('div', { class: 'pagination-slot' });

  replace(
    main,
    h(
      'section',
      { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', null, 'Repositories')),
      h(
        'div',
        { class: 'toolbar', role: 'search' },
        h(
          'div',
          { class: 'field field-grow' },
          h('label', { for: 'repo-filter' }, 'Filter'),
          filter,
          h('span', { class: 'hint', id: 'repo-filter-hint' }, 'Press / to filter, ↓ to reach the results'),
        ),
        h('div', { class: 'field' }, h('label', { for: 'repo-sort' }, 'Sort by'), sort),
      ),
      status,
      results,
      pagination,
    ),
  );

  let loading;
  const updateUrl = () => {
    const params = {
      q: state.q,
      sort: state.sort === 'name-asc' ? undefined : state.sort,
      page: state.page > 1 ? state.page : undefined,
    };
    history.replaceState(null, '', paths.home(params));
  };

  const load = async () => {
    loading?.abort();
    loading = new AbortController();
    const signal = AbortSignal.any ? AbortSignal.any([ctx.signal, loading.signal]) : loading.signal;
    const [by, dir] = state.sort.split('-');
    results.setAttribute('aria-busy', 'true');
    let data;
    try {
      data = await ui.repositories(
        { q: state.q, sort: by, dir, page: state.page, perPage: PER_PAGE },
        { signal },
      );
    } catch (err) {
      if (err?.name === 'AbortError') return;
      replace(results, notice('error', err.message));
      results.removeAttribute('aria-busy');
      return;
    }
    results.removeAttribute('aria-busy');
    if (!ctx.isCurrent()) return;
    state.page = data.page;
    updateUrl();
    showResults(data);
  };

  const showResults = (data) => {
    const first = (data.page - 1) * data.perPage + 1;
    const last = first + data.items.length - 1;
    const noun = data.total === 1 ? 'repository' : 'repositories';
    status.textContent =
      data.total === 0
        ? ''
        : data.total <= data.perPage
          ? `${data.total.toLocaleString()} ${noun}${state.q ? ` matching “${state.q}”` : ''}`
          : `${first.toLocaleString()}–${last.toLocaleString()} of ${data.total.toLocaleString()} ${noun}${state.q ? ` matching “${state.q}”` : ''}`;
    if (data.total === 0) {
      replace(results, emptyState(state.q, session));
      replace(pagination);
      return;
    }
    const scanning = session?.vulnerabilityScanning === true;
    const table = h(
      'table',
      { class: 'table table-repos' },
      h('caption', { class: 'visually-hidden' }, 'Repositories'),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, 'Name'),
          h('th', { scope: 'col' }, 'Newest tag'),
          h('th', { scope: 'col' }, 'Last push'),
          h('th', { scope: 'col', class: 'num' }, 'Size'),
          h('th', { scope: 'col' }, 'Platforms'),
          scanning ? h('th', { scope: 'col' }, 'Vulnerabilities') : null,
        ),
      ),
      h(
        'tbody',
        null,
        data.items.map((repo) =>
          h(
            'tr',
            null,
            h(
              'th',
              { scope: 'row', 'data-label': 'Name' },
              h('a', { class: 'row-link', href: paths.repository(repo.name) }, repo.name),
            ),
            h(
              'td',
              { 'data-label': 'Newest tag' },
              repo.newestTag
                ? h(
                    'a',
                    { class: 'tag-chip', href: paths.tag(repo.name, repo.newestTag), tabindex: '-1' },
                    repo.newestTag,
                  )
                : h('span', { class: 'muted' }, 'untagged'),
              repo.tagCount > 1
                ? h('span', { class: 'muted small' }, ` +${(repo.tagCount - 1).toLocaleString()}`)
                : null,
            ),
            h('td', { 'data-label': 'Last push' }, timeAgo(repo.updatedAt)),
            h('td', { 'data-label': 'Size', class: 'num' }, bytes(repo.size)),
            h('td', { 'data-label': 'Platforms', class: 'platforms' }, platforms(repo.platforms)),
            scanning
              ? h('td', { 'data-label': 'Vulnerabilities' }, severityCounts(repo.vulnerabilities))
              : null,
          ),
        ),
      ),
    );
    table.addEventListener('keydown', (event) => arrowNavigation(event, filter, table));
    replace(results, table);
    replace(
      pagination,
      pager(data, (page) => {
        state.page = page;
        // The pager's button may be gone or disabled now: continue from the new page's first row.
        void load().then(() => results.querySelector('a.row-link')?.focus());
      }),
    );
  };

  const { applyNow } = liveFilter(
    filter,
    (q) => {
      state.q = q;
      state.page = 1;
      return load();
    },
    ctx.signal,
  );
  filter.addEventListener('keydown', (event) => {
    if (event.defaultPrevented) return; // Escape, handled by liveFilter
    if (event.key === 'Enter') {
      // Enter runs the filter at once; a single match opens directly.
      event.preventDefault();
      void applyNow().then(() => {
        const links = results.querySelectorAll('a.row-link');
        if (links.length === 1) links[0].click();
      });
    } else {
      arrowNavigation(event, filter, results);
    }
  });
  sort.addEventListener('change', () => {
    state.sort = validSort(sort.value);
    state.page = 1;
    void load();
  });

  await load();
}

function emptyState(q, session) {
  if (q) return h('div', { class: 'empty' }, h('p', null, `No repository you can see matches “${q}”.`));
  const parts = [h('p', null, 'There are no repositories you can see yet.')];
  if (!session?.user && (session?.signIn?.providers?.length || session?.signIn?.password)) {
    parts.push(
      h(
        'p',
        null,
        h('a', { href: paths.login({ next: '/home' }) }, 'Sign in'),
        ' to see the repositories your account may read.',
      ),
    );
  }
  const host = session?.registryHost ?? location.host;
  parts.push(
    h('p', { class: 'muted' }, 'Push an image, for example:'),
    h(
      'pre',
      { class: 'command' },
      `skopeo copy docker://docker.io/library/alpine:latest docker://${host}/alpine:latest`,
    ),
  );
  return h('div', { class: 'empty' }, ...parts);
}
