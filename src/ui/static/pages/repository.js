// One repository: its tags with digest, type, platforms, size and push time; copy buttons for the
// pull references; deleting a tag when the viewer may (`DELETE /v2/<name>/manifests/<tag>`).
import { deleteTag, ui } from '../lib/api.js';
import { copyButton } from '../lib/clipboard.js';
import { confirmDialog } from '../lib/dialog.js';
import { announce, h, notice, replace } from '../lib/dom.js';
import { bytes, manifestKind, platforms, shortDigest, timeAgo } from '../lib/format.js';
import { paths } from '../lib/paths.js';
import { breadcrumbs, liveFilter, pager, pullReferences, registryHost } from './shared.js';
import { notFoundView } from './not-found.js';

const PER_PAGE = 50;

export async function render(ctx) {
  const { main, params, query, session } = ctx;
  const name = params.name;
  ctx.setTitle(name);
  const state = {
    q: query.get('q') ?? '',
    sort: query.get('sort') === 'name' ? 'name' : 'pushed',
    page: Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1),
  };

  let data;
  try {
    data = await ui.repository(
      { name, q: state.q, sort: state.sort, page: state.page, perPage: PER_PAGE },
      { signal: ctx.signal },
    );
  } catch (err) {
    if (err?.status === 404) {
      ctx.setTitle('Not found');
      replace(main, notFoundView(session, `There is no repository “${name}”, or you may not see it.`));
      return;
    }
    throw err;
  }
  if (!ctx.isCurrent()) return;

  const filter = h('input', {
    id: 'tag-filter',
    type: 'search',
    value: state.q,
    placeholder: 'Filter tags',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const sort = h(
    'select',
    { id: 'tag-sort' },
    h('option', { value: 'pushed', selected: state.sort === 'pushed' }, 'Newest first'),
    h('option', { value: 'name', selected: state.sort === 'name' }, 'Name'),
  );
  const status = h('p', { class: 'result-count', role: 'status' });
  const results = h('div', { class: 'results', id: 'tag-results' });
  const pagination = h('div', { class: 'pagination-slot' });
  const facts = h('dl', { class: 'facts' });
  const pull = h('div', { class: 'pull-slot' });
  const messages = h('div', { class: 'messages' });

  replace(
    main,
    h(
      'section',
      { class: 'page' },
      breadcrumbs([name]),
      h('div', { class: 'page-head' }, h('h1', { class: 'break' }, name)),
      facts,
      pull,
      messages,
      h('h2', { id: 'tags' }, 'Tags'),
      h(
        'div',
        { class: 'toolbar', role: 'search' },
        h('div', { class: 'field field-grow' }, h('label', { for: 'tag-filter' }, 'Filter'), filter),
        h('div', { class: 'field' }, h('label', { for: 'tag-sort' }, 'Sort by'), sort),
      ),
      status,
      results,
      pagination,
    ),
  );

  const showSummary = () => {
    replace(
      facts,
      fact('Tags', data.tagCount.toLocaleString()),
      fact(
        'Size',
        bytes(data.size),
        'Every distinct layer, config and manifest the repository holds, counted once',
      ),
      fact('Last push', timeAgo(data.updatedAt)),
      fact('Newest tag', data.newestTag ?? '—'),
    );
    replace(pull, data.newestTag ? pullReferences(session, name, { tag: data.newestTag }) : null);
  };

  const remove = async (tag) => {
    const confirmed = await confirmDialog({
      title: `Delete tag ${tag}?`,
      body: [
        h(
          'p',
          null,
          'The tag ',
          h('strong', { class: 'mono' }, `${name}:${tag}`),
          ' will no longer resolve.',
        ),
        h(
          'p',
          { class: 'muted' },
          'The image stays available by digest until garbage collection removes it.',
        ),
      ],
      confirmLabel: 'Delete tag',
      action: () => deleteTag(name, tag),
    });
    if (!confirmed) return;
    announce(`Deleted tag ${tag}`);
    replace(messages, notice('success', `Deleted tag ${tag}.`));
    await load();
    filter.focus();
  };

  const showTags = () => {
    const tags = data.tags;
    const noun = tags.total === 1 ? 'tag' : 'tags';
    status.textContent =
      tags.total === 0
        ? ''
        : `${tags.total.toLocaleString()} ${noun}${state.q ? ` matching “${state.q}”` : ''}`;
    if (tags.total === 0) {
      replace(
        results,
        h(
          'div',
          { class: 'empty' },
          h(
            'p',
            null,
            state.q
              ? `No tag matches “${state.q}”.`
              : 'This repository has no tags; its manifests are reachable by digest only.',
          ),
        ),
      );
      replace(pagination);
      return;
    }
    const host = registryHost(session);
    replace(
      results,
      h(
        'table',
        { class: 'table table-tags' },
        h('caption', { class: 'visually-hidden' }, `Tags of ${name}`),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Tag'),
            h('th', { scope: 'col' }, 'Digest'),
            h('th', { scope: 'col' }, 'Type'),
            h('th', { scope: 'col' }, 'Platforms'),
            h('th', { scope: 'col', class: 'num' }, 'Size'),
            h('th', { scope: 'col' }, 'Pushed'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
          ),
        ),
        h(
          'tbody',
          null,
          tags.items.map((t) =>
            h(
              'tr',
              { dataset: { tag: t.tag } },
              h(
                'th',
                { scope: 'row', 'data-label': 'Tag' },
                h('a', { class: 'row-link', href: paths.tag(name, t.tag) }, t.tag),
              ),
              h('td', { 'data-label': 'Digest', class: 'mono', title: t.digest }, shortDigest(t.digest)),
              h(
                'td',
                { 'data-label': 'Type', title: t.artifactType ?? t.mediaType },
                manifestKind(t.mediaType, t.artifactType),
              ),
              h('td', { 'data-label': 'Platforms', class: 'platforms' }, platforms(t.platforms)),
              h('td', { 'data-label': 'Size', class: 'num' }, bytes(t.imageSize)),
              h('td', { 'data-label': 'Pushed' }, timeAgo(t.pushedAt)),
              h(
                'td',
                { class: 'actions' },
                copyButton(`${host}/${name}:${t.tag}`, `pull reference ${name}:${t.tag}`, {
                  visible: 'Copy :tag',
                }),
                copyButton(`${host}/${name}@${t.digest}`, `pull reference ${name}@${t.digest}`, {
                  visible: 'Copy @digest',
                }),
                data.canDelete
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'button button-small button-danger-quiet',
                        'aria-label': `Delete tag ${t.tag}`,
                        onClick: () => remove(t.tag),
                      },
                      'Delete',
                    )
                  : null,
              ),
            ),
          ),
        ),
      ),
    );
    replace(
      pagination,
      pager(tags, (page) => {
        state.page = page;
        // The pager's button may be gone or disabled now: continue from the new page's first row.
        void load().then(() => results.querySelector('a.row-link')?.focus());
      }),
    );
  };

  let loading;
  const load = async () => {
    loading?.abort();
    loading = new AbortController();
    const signal = AbortSignal.any ? AbortSignal.any([ctx.signal, loading.signal]) : loading.signal;
    try {
      data = await ui.repository(
        { name, q: state.q, sort: state.sort, page: state.page, perPage: PER_PAGE },
        { signal },
      );
    } catch (err) {
      if (err?.name === 'AbortError') return;
      replace(results, notice('error', err.message));
      return;
    }
    if (!ctx.isCurrent()) return;
    state.page = data.tags.page;
    history.replaceState(
      null,
      '',
      paths.repository(name, {
        q: state.q,
        sort: state.sort === 'pushed' ? undefined : state.sort,
        page: state.page > 1 ? state.page : undefined,
      }),
    );
    showSummary();
    showTags();
  };

  liveFilter(
    filter,
    (q) => {
      state.q = q;
      state.page = 1;
      return load();
    },
    ctx.signal,
  );
  filter.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowDown') return;
    const first = results.querySelector('a.row-link');
    if (first) {
      event.preventDefault();
      first.focus();
    }
  });
  sort.addEventListener('change', () => {
    state.sort = sort.value === 'name' ? 'name' : 'pushed';
    state.page = 1;
    void load();
  });

  showSummary();
  showTags();
}

function fact(label, value, title) {
  return h('div', { class: 'fact', title }, h('dt', null, label), h('dd', null, value));
}
