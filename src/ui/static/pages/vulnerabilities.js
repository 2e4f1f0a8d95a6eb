// Vulnerability scanning in the UI: the per-image table (id, severity, package, installed and
// fixed versions, filterable by severity) and the severity counts shown in the repository list.
// The image page renders at once; the vulnerabilities load into their section afterwards.
import { ui } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { timeAgo } from '../lib/format.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'];
const LABELS = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low', unknown: 'Unknown' };

function severityBadge(severity) {
  const key = String(severity).toLowerCase();
  return h(
    'span',
    { class: `severity severity-${SEVERITIES.includes(key) ? key : 'unknown'}` },
    LABELS[key] ?? severity,
  );
}

/** Counts by severity as small badges; `null` (not scanned yet) and all-zero read as words. */
export function severityCounts(counts) {
  if (counts === null || counts === undefined) return h('span', { class: 'muted' }, 'not scanned');
  const shown = SEVERITIES.filter((s) => counts[s] > 0);
  if (shown.length === 0) return h('span', { class: 'severity-none' }, 'none found');
  return h(
    'span',
    { class: 'severity-counts' },
    shown.map((s) =>
      h(
        'span',
        { class: `severity severity-${s}`, title: `${counts[s]} ${LABELS[s].toLowerCase()}` },
        // The letter for the eye, the word for screen readers.
        `${counts[s]} `,
        h('span', { 'aria-hidden': 'true' }, LABELS[s][0]),
        h('span', { class: 'visually-hidden' }, LABELS[s].toLowerCase()),
      ),
    ),
  );
}

function link(v) {
  return v.reference && /^https?:\/\//.test(v.reference)
    ? h('a', { href: v.reference, rel: 'noopener noreferrer', target: '_blank', class: 'mono' }, v.id)
    : h('span', { class: 'mono' }, v.id);
}

function rows(list) {
  return list.flatMap((v) =>
    v.packages.map((p, i) =>
      h(
        'tr',
        { dataset: { severity: v.severity.toLowerCase() } },
        h(
          'td',
          { 'data-label': 'ID' },
          i === 0 ? link(v) : null,
          i === 0 && v.title && v.title !== v.id ? h('div', { class: 'small muted' }, v.title) : null,
        ),
        h('td', { 'data-label': 'Severity' }, severityBadge(v.severity)),
        h(
          'td',
          { 'data-label': 'Package', class: 'mono' },
          p.name,
          p.path ? h('div', { class: 'small muted' }, p.path) : null,
        ),
        h('td', { 'data-label': 'Installed', class: 'mono' }, p.installedVersion),
        h(
          'td',
          { 'data-label': 'Fixed in', class: 'mono' },
          p.fixedVersion ?? h('span', { class: 'muted' }, 'no fix yet'),
        ),
      ),
    ),
  );
}

function table(list) {
  return h(
    'table',
    { class: 'table table-vulnerabilities', id: 'vulnerabilities-table' },
    h('caption', { class: 'visually-hidden' }, 'Vulnerabilities'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'ID'),
        h('th', { scope: 'col' }, 'Severity'),
        h('th', { scope: 'col' }, 'Package'),
        h('th', { scope: 'col' }, 'Installed'),
        h('th', { scope: 'col' }, 'Fixed in'),
      ),
    ),
    h('tbody', null, rows(list)),
  );
}

function render(container, data) {
  if (!data.scanned) {
    replace(
      container,
      h(
        'p',
        { class: 'muted', id: 'vulnerabilities-status' },
        'Not scanned yet. Scans run in the background after a push; reload in a moment.',
      ),
    );
    return;
  }
  const scanned = h(
    'p',
    { class: 'small muted', id: 'vulnerabilities-status' },
    'Scanned ',
    timeAgo(data.scannedAt),
    '.',
  );
  if (data.vulnerabilities.length === 0) {
    replace(
      container,
      h('p', { class: 'notice notice-success' }, 'No known vulnerabilities in the packages found.'),
      scanned,
    );
    return;
  }
  const body = h('div', null, table(data.vulnerabilities));
  const filter = h(
    'select',
    {
      id: 'severity-filter',
      'aria-label': 'Show severity',
      onChange: () => {
        const wanted = filter.value;
        replace(
          body,
          table(
            wanted === ''
              ? data.vulnerabilities
              : data.vulnerabilities.filter((v) => v.severity.toLowerCase() === wanted),
          ),
        );
      },
    },
    h('option', { value: '' }, `All severities (${data.vulnerabilities.length})`),
    SEVERITIES.filter((s) => data.counts[s] > 0).map((s) =>
      h('option', { value: s }, `${LABELS[s]} (${data.counts[s]})`),
    ),
  );
  replace(
    container,
    h('div', { class: 'vulnerability-summary' }, severityCounts(data.counts), filter),
    scanned,
    body,
  );
}

/** The vulnerabilities section's content for one image; it fills itself in. */
export function vulnerabilitiesView(ctx, name, reference) {
  const container = h(
    'div',
    { id: 'vulnerabilities-view' },
    h('p', { class: 'muted' }, 'Loading vulnerabilities…'),
  );
  ui.vulnerabilities({ name, reference }, { signal: ctx.signal }).then(
    (data) => {
      if (ctx.isCurrent()) render(container, data);
    },
    (err) => {
      if (err?.name === 'AbortError' || !ctx.isCurrent()) return;
      replace(
        container,
        h('p', { class: 'notice notice-error', role: 'alert' }, err?.message ?? String(err)),
      );
    },
  );
  return container;
}
