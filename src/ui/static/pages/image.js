// One manifest (by tag or digest): facts, pull references, platforms of an index, layers, labels,
// annotations, history, referrers by artifact type (signatures, SBOMs, attestations), and the
// manifest and config as pretty JSON.
import { deleteTag, ui } from '../lib/api.js';
import { copyButton } from '../lib/clipboard.js';
import { confirmDialog } from '../lib/dialog.js';
import { announce, h, replace } from '../lib/dom.js';
import {
  artifactKind,
  bytes,
  manifestKind,
  mediaType,
  platform,
  platforms,
  shortDigest,
  timeAgo,
  timeAt,
} from '../lib/format.js';
import { jsonView } from '../lib/json-view.js';
import { paths } from '../lib/paths.js';
import { breadcrumbs, keyValues, pullReferences } from './shared.js';
import { notFoundView } from './not-found.js';
import { vulnerabilitiesView } from './vulnerabilities.js';

function section(id, title, ...content) {
  return h('section', { class: 'section', 'aria-labelledby': id }, h('h2', { id }, title), ...content);
}

function fact(label, ...value) {
  return h('div', { class: 'fact' }, h('dt', null, label), h('dd', null, ...value));
}

function wideFact(label, ...value) {
  return h('div', { class: 'fact fact-wide' }, h('dt', null, label), h('dd', null, ...value));
}

function digestLink(name, digest, present = true) {
  const text = h('span', { class: 'mono', title: digest }, shortDigest(digest));
  return present
    ? h('a', { href: paths.digest(name, digest), class: 'mono', title: digest }, shortDigest(digest))
    : text;
}

function layersTable(view) {
  if (view.layers.length === 0) return h('p', { class: 'muted' }, 'No layers.');
  const total = view.layers.reduce((sum, l) => sum + l.size, 0);
  return h(
    'table',
    { class: 'table table-layers' },
    h('caption', { class: 'visually-hidden' }, 'Layers'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col', class: 'num' }, '#'),
        h('th', { scope: 'col' }, 'Digest'),
        h('th', { scope: 'col' }, 'Type'),
        h('th', { scope: 'col', class: 'num' }, 'Size'),
      ),
    ),
    h(
      'tbody',
      null,
      view.layers.map((layer, i) =>
        h(
          'tr',
          null,
          h('td', { class: 'num', 'data-label': '#' }, i + 1),
          h('td', { class: 'mono', 'data-label': 'Digest', title: layer.digest }, shortDigest(layer.digest)),
          h('td', { 'data-label': 'Type', title: layer.mediaType }, mediaType(layer.mediaType)),
          h('td', { class: 'num', 'data-label': 'Size' }, bytes(layer.size)),
        ),
      ),
    ),
    h(
      'tfoot',
      null,
      h(
        'tr',
        null,
        h('td', null),
        h('th', { scope: 'row' }, `${view.layers.length} layer${view.layers.length === 1 ? '' : 's'}`),
        h('td', null),
        h('td', { class: 'num' }, bytes(total)),
      ),
    ),
  );
}

function historyTable(view) {
  if (view.history.length === 0) return h('p', { class: 'muted' }, 'The image config records no history.');
  return h(
    'table',
    { class: 'table table-history' },
    h('caption', { class: 'visually-hidden' }, 'History'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col', class: 'num' }, '#'),
        h('th', { scope: 'col' }, 'Created'),
        h('th', { scope: 'col' }, 'Step'),
      ),
    ),
    h(
      'tbody',
      null,
      view.history.map((entry, i) =>
        h(
          'tr',
          { class: entry.emptyLayer ? 'empty-layer' : undefined },
          h('td', { class: 'num', 'data-label': '#' }, i + 1),
          h('td', { 'data-label': 'Created' }, timeAt(entry.created)),
          h(
            'td',
            { 'data-label': 'Step' },
            h('code', { class: 'history-command' }, entry.createdBy ?? entry.comment ?? '—'),
            entry.emptyLayer ? h('span', { class: 'badge' }, 'no layer') : null,
          ),
        ),
      ),
    ),
  );
}

function platformsTable(view) {
  return h(
    'table',
    { class: 'table table-platforms' },
    h('caption', { class: 'visually-hidden' }, 'Manifests of this index'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'Platform'),
        h('th', { scope: 'col' }, 'Digest'),
        h('th', { scope: 'col' }, 'Type'),
        h('th', { scope: 'col', class: 'num' }, 'Manifest size'),
      ),
    ),
    h(
      'tbody',
      null,
      view.manifests.map((child) =>
        h(
          'tr',
          null,
          h(
            'th',
            { scope: 'row', 'data-label': 'Platform' },
            child.platform ? platform(child.platform) : h('span', { class: 'muted' }, 'none'),
          ),
          h(
            'td',
            { 'data-label': 'Digest' },
            digestLink(view.repo, child.digest, child.present),
            child.present
              ? null
              : h(
                  'span',
                  { class: 'badge', title: 'This repository does not hold this manifest' },
                  'not stored',
                ),
          ),
          h(
            'td',
            { 'data-label': 'Type', title: child.artifactType ?? child.mediaType },
            manifestKind(child.mediaType, child.artifactType),
          ),
          h('td', { class: 'num', 'data-label': 'Manifest size' }, bytes(child.size)),
        ),
      ),
    ),
  );
}

function referrersView(view) {
  if (view.referrers.length === 0)
    return h(
      'p',
      { class: 'muted' },
      'Nothing refers to this manifest (no signatures, SBOMs or attestations).',
    );
  const groups = new Map();
  for (const r of view.referrers) {
    const kind = artifactKind(r.artifactType);
    if (!groups.has(kind)) groups.set(kind, []);
    groups.get(kind).push(r);
  }
  return [...groups.entries()].map(([kind, list]) =>
    h(
      'div',
      { class: 'referrer-group' },
      h('h3', null, `${kind} (${list.length})`),
      h(
        'table',
        { class: 'table table-referrers' },
        h('caption', { class: 'visually-hidden' }, kind),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Artifact type'),
            h('th', { scope: 'col' }, 'Digest'),
            h('th', { scope: 'col', class: 'num' }, 'Size'),
            h('th', { scope: 'col' }, 'Pushed'),
          ),
        ),
        h(
          'tbody',
          null,
          list.map((r) =>
            h(
              'tr',
              null,
              h(
                'td',
                { 'data-label': 'Artifact type', class: 'wrap' },
                r.artifactType ?? mediaType(r.mediaType),
              ),
              h('td', { 'data-label': 'Digest' }, digestLink(view.repo, r.digest)),
              h('td', { class: 'num', 'data-label': 'Size' }, bytes(r.size)),
              h('td', { 'data-label': 'Pushed' }, timeAgo(r.pushedAt)),
            ),
          ),
        ),
      ),
    ),
  );
}

function jsonSection(id, title, value, label) {
  const text = JSON.stringify(value, null, 2);
  return section(
    id,
    title,
    h('div', { class: 'json-tools' }, copyButton(text, label, { visible: 'Copy JSON' })),
    jsonView(value, label),
  );
}

export async function render(ctx) {
  const { main, params, session } = ctx;
  const { name, reference, by } = params;
  const display = by === 'digest' ? `${name}@${shortDigest(reference)}` : `${name}:${reference}`;
  ctx.setTitle(display);
  let view;
  try {
    view = await ui.image({ name, reference }, { signal: ctx.signal });
  } catch (err) {
    if (err?.status === 404 || err?.status === 400) {
      ctx.setTitle('Not found');
      replace(
        main,
        notFoundView(
          session,
          `There is no image “${by === 'digest' ? `${name}@${reference}` : `${name}:${reference}`}”, or you may not see it.`,
        ),
      );
      return;
    }
    throw err;
  }
  if (!ctx.isCurrent()) return;

  const byTag = by !== 'digest';
  const isIndex = view.manifests.length > 0 || /index|list/.test(view.mediaType);
  const sections = [];
  const toc = [];
  const add = (id, title, ...content) => {
    toc.push([id, title]);
    sections.push(section(id, title, ...content));
  };

  if (isIndex) add('platforms', 'Platforms', platformsTable(view));
  if (!isIndex) add('layers', 'Layers', layersTable(view));
  if (session?.vulnerabilityScanning && (isIndex || view.layers.length > 0))
    add('vulnerabilities', 'Vulnerabilities', vulnerabilitiesView(ctx, name, reference));
  if (!isIndex) add('labels', 'Labels', keyValues(view.labels, 'Labels', 'No labels.'));
  add('annotations', 'Annotations', keyValues(view.annotations, 'Annotations', 'No annotations.'));
  if (!isIndex) add('history', 'History', historyTable(view));
  add('referrers', 'Referrers', referrersView(view));
  toc.push(['manifest', 'Manifest']);
  sections.push(jsonSection('manifest', 'Manifest', view.manifest, 'manifest JSON'));
  if (view.config?.json !== undefined) {
    toc.push(['config', 'Config']);
    sections.push(jsonSection('config', 'Config', view.config.json, 'config JSON'));
  }

  const relations = [];
  if (view.subject) {
    relations.push(
      h(
        'p',
        { class: 'notice notice-info' },
        'This artifact refers to ',
        view.subject.present
          ? h(
              'a',
              { href: paths.digest(name, view.subject.digest), class: 'mono' },
              shortDigest(view.subject.digest),
            )
          : h('span', { class: 'mono' }, shortDigest(view.subject.digest)),
        '.',
      ),
    );
  }
  if (view.parents.length > 0) {
    relations.push(
      h(
        'p',
        { class: 'notice notice-info' },
        'Part of ',
        view.parents.length === 1 ? 'index ' : 'indexes ',
        view.parents.map((p, i) => [i > 0 ? ', ' : '', digestLink(name, p)]),
        '.',
      ),
    );
  }

  const actions = [];
  if (byTag && view.canDelete) {
    actions.push(
      h(
        'button',
        {
          type: 'button',
          class: 'button button-danger-quiet',
          id: 'delete-tag',
          onClick: async () => {
            const confirmed = await confirmDialog({
              title: `Delete tag ${reference}?`,
              body: [
                h(
                  'p',
                  null,
                  'The tag ',
                  h('strong', { class: 'mono' }, `${name}:${reference}`),
                  ' will no longer resolve.',
                ),
                h(
                  'p',
                  { class: 'muted' },
                  'The image stays available by digest until garbage collection removes it.',
                ),
              ],
              confirmLabel: 'Delete tag',
              action: () => deleteTag(name, reference),
            });
            if (!confirmed) return;
            announce(`Deleted tag ${reference}`);
            ctx.navigate(paths.repository(name), { replace: true, focus: true });
          },
        },
        'Delete tag',
      ),
    );
  }

  replace(
    main,
    h(
      'article',
      { class: 'page' },
      breadcrumbs([name, paths.repository(name)], [byTag ? reference : shortDigest(reference)]),
      h(
        'div',
        { class: 'page-head' },
        h('h1', { class: 'break' }, display),
        h('div', { class: 'page-actions' }, actions),
      ),
      h(
        'dl',
        { class: 'facts' },
        wideFact(
          'Digest',
          h('span', { class: 'mono break', id: 'image-digest' }, view.digest),
          ' ',
          copyButton(view.digest, 'digest'),
        ),
        fact(
          'Type',
          h(
            'span',
            { title: view.artifactType ?? view.mediaType },
            manifestKind(view.mediaType, view.artifactType ?? view.config?.mediaType),
          ),
        ),
        fact('Size', bytes(view.imageSize)),
        fact('Platforms', platforms(view.platforms)),
        fact('Pushed', timeAgo(view.pushedAt)),
        view.created ? fact('Created', timeAt(view.created)) : null,
        fact(
          'Tags',
          view.tags.length === 0
            ? h('span', { class: 'muted' }, 'none')
            : view.tags.map((t) => h('a', { class: 'tag-chip', href: paths.tag(name, t) }, t)),
        ),
      ),
      pullReferences(session, name, { tag: byTag ? reference : undefined, digest: view.digest }),
      ...relations,
      h(
        'nav',
        { class: 'toc', 'aria-label': 'On this page' },
        h(
          'ul',
          null,
          toc.map(([id, title]) => h('li', null, h('a', { href: `#${id}` }, title))),
        ),
      ),
      ...sections,
    ),
  );
}
