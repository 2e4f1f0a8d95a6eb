// `/user/apikey` (zot's address): create an API key with a label and an expiry, see it once with a
// copy button, list keys (label, created, expires, last used), revoke with confirmation. Keys are
// used as the password, with the owner's user name, by CI and command-line clients.
import { auth } from '../lib/api.js';
import { copyField } from '../lib/clipboard.js';
import { confirmDialog } from '../lib/dialog.js';
import { announce, h, notice, replace } from '../lib/dom.js';
import { day, isZeroTime, timeAgo } from '../lib/format.js';
import { registryHost } from './shared.js';

const EXPIRIES = [
  ['7', '7 days'],
  ['30', '30 days'],
  ['60', '60 days'],
  ['90', '90 days'],
  ['180', '180 days'],
  ['365', '1 year'],
  ['custom', 'On a date…'],
  ['never', 'Never'],
];
const DEFAULT_EXPIRY = '90';

function pad(n) {
  return String(Math.trunc(Math.abs(n))).padStart(2, '0');
}

/** The end of a local day as RFC 3339 with the local offset, as zot's UI sends it. */
export function endOfDay(date) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T23:59:59.999${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

function daysFromNow(days) {
  const date = new Date();
  date.setDate(date.getDate() + days);
  return date;
}

function localDateInput(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function expiresSoon(key) {
  if (isZeroTime(key.expirationDate)) return false;
  const left = new Date(key.expirationDate).getTime() - Date.now();
  return left > 0 && left < 7 * 24 * 3600 * 1000;
}

function status(key) {
  if (
    key.isExpired ||
    (!isZeroTime(key.expirationDate) && new Date(key.expirationDate).getTime() < Date.now())
  ) {
    return h('span', { class: 'badge badge-danger' }, 'Expired');
  }
  if (expiresSoon(key)) return h('span', { class: 'badge badge-warning' }, 'Expires soon');
  return h('span', { class: 'badge badge-ok' }, 'Active');
}

export async function render(ctx) {
  const { main, session } = ctx;
  ctx.setTitle('API keys');
  const user = session.user.name;
  const host = registryHost(session);

  if (!session.signIn?.apiKeys) {
    replace(
      main,
      h(
        'section',
        { class: 'page page-narrow' },
        h('h1', null, 'API keys'),
        notice('info', 'API keys are not enabled on this registry (http.auth.apikey).'),
      ),
    );
    return;
  }

  const label = h('input', {
    id: 'key-label',
    name: 'label',
    required: true,
    maxlength: '100',
    autocomplete: 'off',
    placeholder: 'e.g. ci-main',
  });
  const expiry = h(
    'select',
    { id: 'key-expiry', name: 'expiry' },
    EXPIRIES.map(([value, text]) => h('option', { value, selected: value === DEFAULT_EXPIRY }, text)),
  );
  const customDate = h('input', {
    id: 'key-date',
    name: 'date',
    type: 'date',
    min: localDateInput(daysFromNow(1)),
    value: localDateInput(daysFromNow(90)),
  });
  const customField = h(
    'div',
    { class: 'field', hidden: true },
    h('label', { for: 'key-date' }, 'Expires on'),
    customDate,
  );
  const formError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h(
    'button',
    { type: 'submit', class: 'button button-primary', id: 'create-key' },
    'Create key',
  );
  const form = h(
    'form',
    { class: 'form form-inline', 'aria-labelledby': 'create-heading' },
    h('div', { class: 'field field-grow' }, h('label', { for: 'key-label' }, 'Label'), label),
    h('div', { class: 'field' }, h('label', { for: 'key-expiry' }, 'Expires'), expiry),
    customField,
    h('div', { class: 'field field-submit' }, submit),
    formError,
  );
  const created = h('div', { class: 'new-key-slot' });
  const list = h('div', { class: 'results', id: 'key-list' });
  const messages = h('div', { class: 'messages' });

  replace(
    main,
    h(
      'section',
      { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', null, 'API keys')),
      h(
        'p',
        { class: 'lead' },
        'Command-line tools and CI sign in with your user name ',
        h('strong', { class: 'mono' }, user),
        ' and an API key as the password. A key can do what your account can do; it stops working when it expires or is revoked.',
      ),
      created,
      messages,
      h('h2', { id: 'create-heading' }, 'Create a key'),
      form,
      h('h2', { id: 'keys-heading' }, 'Your keys'),
      list,
      session.user.admin ? adminSection(ctx) : null,
    ),
  );

  expiry.addEventListener('change', () => {
    customField.hidden = expiry.value !== 'custom';
    if (!customField.hidden) customDate.focus();
  });

  const showCreated = (key) => {
    const done = h(
      'button',
      {
        type: 'button',
        class: 'button',
        onClick: () => {
          replace(created);
          label.focus();
        },
      },
      'Done',
    );
    const panel = h(
      'section',
      { class: 'new-key', 'aria-labelledby': 'new-key-heading', tabindex: '-1' },
      h('h2', { id: 'new-key-heading' }, `New key “${key.label}”`),
      notice('warning', 'Copy this key now. It is shown only once; the registry keeps only a hash of it.'),
      copyField(key.apiKey, 'new API key', { class: 'copy-field-key' }),
      h('p', { class: 'muted' }, 'For example:'),
      h(
        'pre',
        { class: 'command' },
        `skopeo login --username ${user} --password-stdin ${host}\n# or, per command:\nskopeo copy --dest-creds ${user}:<key> oci:./image docker://${host}/team/app:1.0`,
      ),
      h('div', { class: 'dialog-actions' }, done),
    );
    replace(created, panel);
    panel.focus();
  };

  const load = async () => {
    let data;
    try {
      data = await auth.listKeys();
    } catch (err) {
      replace(
        list,
        notice(
          'error',
          err.status === 404 || err.status === 405
            ? 'API keys are not available on this registry.'
            : err.message,
        ),
      );
      return;
    }
    if (!ctx.isCurrent()) return;
    const keys = (Array.isArray(data?.apiKeys) ? data.apiKeys : [])
      .slice()
      .sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
    if (keys.length === 0) {
      replace(list, h('p', { class: 'empty' }, 'You have no API keys.'));
      return;
    }
    replace(
      list,
      h(
        'table',
        { class: 'table table-keys' },
        h('caption', { class: 'visually-hidden' }, 'Your API keys'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Label'),
            h('th', { scope: 'col' }, 'Created'),
            h('th', { scope: 'col' }, 'Expires'),
            h('th', { scope: 'col' }, 'Last used'),
            h('th', { scope: 'col' }, 'Status'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
          ),
        ),
        h(
          'tbody',
          null,
          keys.map((key) =>
            h(
              'tr',
              { dataset: { key: key.uuid } },
              h(
                'th',
                { scope: 'row', 'data-label': 'Label' },
                key.label || h('span', { class: 'muted' }, 'no label'),
              ),
              h('td', { 'data-label': 'Created' }, timeAgo(key.createdAt)),
              h(
                'td',
                { 'data-label': 'Expires' },
                isZeroTime(key.expirationDate) ? 'Never' : day(key.expirationDate),
              ),
              h('td', { 'data-label': 'Last used' }, timeAgo(key.lastUsed, 'Never')),
              h('td', { 'data-label': 'Status' }, status(key)),
              h(
                'td',
                { class: 'actions' },
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'button button-small button-danger-quiet',
                    'aria-label': `Revoke key ${key.label || key.uuid}`,
                    onClick: () => revoke(key),
                  },
                  'Revoke',
                ),
              ),
            ),
          ),
        ),
      ),
    );
  };

  const revoke = async (key) => {
    const name = key.label || 'without a label';
    const confirmed = await confirmDialog({
      title: `Revoke key “${name}”?`,
      body: [
        h('p', null, 'Anything that uses this key — CI jobs, scripts — will be refused from now on.'),
        h('p', { class: 'muted' }, 'This cannot be undone; create a new key to replace it.'),
      ],
      confirmLabel: 'Revoke key',
      action: () => auth.revokeKey(key.uuid),
    });
    if (!confirmed) return;
    announce(`Revoked key ${name}`);
    replace(messages, notice('success', `Revoked key “${name}”.`));
    await load();
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError.hidden = true;
    let expirationDate;
    if (expiry.value === 'custom') {
      const [y, m, d] = customDate.value.split('-').map(Number);
      if (!y || !m || !d) {
        formError.textContent = 'Choose the day the key expires.';
        formError.hidden = false;
        customDate.focus();
        return;
      }
      expirationDate = endOfDay(new Date(y, m - 1, d));
    } else if (expiry.value !== 'never') {
      expirationDate = endOfDay(daysFromNow(Number(expiry.value)));
    }
    submit.disabled = true;
    try {
      const key = await auth.createKey(label.value.trim(), expirationDate);
      form.reset();
      customField.hidden = true;
      replace(messages);
      showCreated(key);
      announce(`Created key ${key.label}. Copy it now; it is shown only once.`);
      await load();
    } catch (err) {
      formError.textContent = err.message;
      formError.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  await load();
}

/**
 * Admins: service-account keys. Create a key for another user (a CI account) with groups, and see
 * and revoke every user's keys; keys expiring within a week are marked. Same as `berth keys`.
 */
function adminSection(ctx) {
  const user = h('input', {
    id: 'svc-user',
    name: 'user',
    required: true,
    autocomplete: 'off',
    placeholder: 'e.g. zot-ci',
  });
  const groups = h('input', {
    id: 'svc-groups',
    name: 'groups',
    autocomplete: 'off',
    placeholder: 'e.g. artifact-workloads',
  });
  const label = h('input', {
    id: 'svc-label',
    name: 'label',
    maxlength: '100',
    autocomplete: 'off',
    placeholder: 'e.g. ci',
  });
  const expiry = h(
    'select',
    { id: 'svc-expiry', name: 'expiry' },
    EXPIRIES.filter(([value]) => value !== 'custom').map(([value, text]) =>
      h('option', { value, selected: value === DEFAULT_EXPIRY }, text),
    ),
  );
  const formError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h(
    'button',
    { type: 'submit', class: 'button button-primary', id: 'create-service-key' },
    'Create service key',
  );
  const form = h(
    'form',
    { class: 'form form-inline', 'aria-labelledby': 'svc-heading' },
    h('div', { class: 'field' }, h('label', { for: 'svc-user' }, 'User'), user),
    h(
      'div',
      { class: 'field field-grow' },
      h('label', { for: 'svc-groups' }, 'Groups (comma-separated)'),
      groups,
    ),
    h('div', { class: 'field' }, h('label', { for: 'svc-label' }, 'Service key label'), label),
    h('div', { class: 'field' }, h('label', { for: 'svc-expiry' }, 'Service key expires'), expiry),
    h('div', { class: 'field field-submit' }, submit),
    formError,
  );
  const created = h('div', { class: 'new-key-slot' });
  const list = h('div', { class: 'results', id: 'all-key-list' });
  const section = h(
    'section',
    { class: 'admin-keys', 'aria-labelledby': 'svc-heading' },
    h('h2', { id: 'svc-heading' }, 'Service-account keys (admins)'),
    h(
      'p',
      { class: 'lead' },
      'Create a key for another user, such as a CI account, with the groups it should carry. The key is shown once.',
    ),
    created,
    form,
    h('h2', { id: 'all-keys-heading' }, 'All keys'),
    list,
  );

  const load = async () => {
    let data;
    try {
      data = await auth.listAllKeys();
    } catch (err) {
      replace(list, notice('error', err.message));
      return;
    }
    if (!ctx.isCurrent()) return;
    const keys = Array.isArray(data?.apiKeys) ? data.apiKeys : [];
    if (keys.length === 0) {
      replace(list, h('p', { class: 'empty' }, 'No API keys.'));
      return;
    }
    replace(
      list,
      h(
        'table',
        { class: 'table table-keys' },
        h('caption', { class: 'visually-hidden' }, 'All API keys'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['User', 'Label', 'Groups', 'Expires', 'Last used', 'Status'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
          ),
        ),
        h(
          'tbody',
          null,
          keys.map((key) =>
            h(
              'tr',
              { dataset: { key: key.uuid, expiresSoon: String(Boolean(key.expiresSoon)) } },
              h('th', { scope: 'row', 'data-label': 'User', class: 'mono' }, key.user),
              h('td', { 'data-label': 'Label' }, key.label || h('span', { class: 'muted' }, 'no label')),
              h('td', { 'data-label': 'Groups' }, (key.groups ?? []).join(', ')),
              h('td', { 'data-label': 'Expires' }, key.expirationDate ? day(key.expirationDate) : 'Never'),
              h('td', { 'data-label': 'Last used' }, key.lastUsed ? timeAgo(key.lastUsed) : 'Never'),
              h(
                'td',
                { 'data-label': 'Status' },
                key.isExpired
                  ? h('span', { class: 'badge badge-danger' }, 'Expired')
                  : key.expiresSoon
                    ? h('span', { class: 'badge badge-warning' }, 'Expires soon')
                    : h('span', { class: 'badge badge-ok' }, 'Active'),
              ),
              h(
                'td',
                { class: 'actions' },
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'button button-small button-danger-quiet',
                    'aria-label': `Revoke key ${key.label || key.uuid} of ${key.user}`,
                    onClick: async () => {
                      const confirmed = await confirmDialog({
                        title: `Revoke ${key.user}’s key “${key.label || key.uuid}”?`,
                        body: [h('p', null, 'Anything that uses this key will be refused from now on.')],
                        confirmLabel: 'Revoke key',
                        action: () => auth.revokeAnyKey(key.uuid),
                      });
                      if (confirmed) {
                        announce(`Revoked key of ${key.user}`);
                        await load();
                      }
                    },
                  },
                  'Revoke',
                ),
              ),
            ),
          ),
        ),
      ),
    );
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError.hidden = true;
    submit.disabled = true;
    try {
      const key = await auth.createServiceKey(
        user.value.trim(),
        groups.value
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean),
        label.value.trim(),
        expiry.value === 'never' ? undefined : `${expiry.value}d`,
      );
      form.reset();
      replace(
        created,
        h(
          'section',
          { class: 'new-key', tabindex: '-1' },
          h('h3', null, `New key for ${key.user}`),
          notice('warning', 'Copy this key now. It is shown only once.'),
          copyField(key.apiKey, 'new service-account key', { class: 'copy-field-key' }),
        ),
      );
      announce(`Created a key for ${key.user}. Copy it now; it is shown only once.`);
      await load();
    } catch (err) {
      formError.textContent = err.message;
      formError.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  void load();
  return section;
}
