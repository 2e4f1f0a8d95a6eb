// Sign-in: one button per OpenID provider, a password form when htpasswd or LDAP is configured,
// "continue as guest" when anonymous callers may browse. Provider errors come back as
// `/login?error=<code>&error_description=<text>` and are explained in plain words.
import { auth } from '../lib/api.js';
import { h, notice, replace } from '../lib/dom.js';
import { paths, safeNext } from '../lib/paths.js';

/** OAuth 2.0 / OpenID Connect error codes (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6) and Berth's own. */
const PROVIDER_ERRORS = {
  access_denied: 'The identity provider refused the sign-in, or it was cancelled.',
  login_required: 'The identity provider needs you to sign in again.',
  interaction_required: 'The identity provider needs you to complete a step there first. Try again.',
  consent_required: 'The identity provider needs your consent before you can sign in. Try again.',
  account_selection_required: 'Choose an account at the identity provider, then try again.',
  temporarily_unavailable: 'The identity provider is busy or down for maintenance. Try again in a moment.',
  server_error: 'The identity provider had a problem. Try again in a moment.',
  invalid_request:
    'The identity provider rejected the sign-in request. Ask an administrator to check the registry’s OpenID settings.',
  unauthorized_client:
    'The identity provider does not allow this registry to sign people in. Ask an administrator to check the client settings.',
  invalid_client:
    'The identity provider does not recognise this registry (client id or secret). Ask an administrator.',
  invalid_scope:
    'The identity provider rejected the requested scopes. Ask an administrator to check the registry’s OpenID settings.',
  unsupported_response_type:
    'The identity provider does not support this kind of sign-in. Ask an administrator.',
  invalid_grant: 'The sign-in code expired or was already used. Please sign in again.',
  invalid_state: 'The sign-in took too long or was started in another tab. Please try again.',
  state_mismatch: 'The sign-in took too long or was started in another tab. Please try again.',
  provider_unreachable: 'The identity provider could not be reached. Try again later, or use an API key.',
  unknown_provider: 'That sign-in method is not configured on this registry.',
  missing_username:
    'The identity provider did not say who you are (no user name claim). Ask an administrator to check the claim mapping.',
  invalid_token: 'The identity provider’s answer could not be verified. Try again, or ask an administrator.',
};

const REASONS = {
  expired: 'Your session has ended. Please sign in again.',
  'signed-out': 'You are signed out.',
};

function providerMessage(query) {
  const code = query.get('error');
  if (!code) return undefined;
  const description = query.get('error_description');
  const known = PROVIDER_ERRORS[code];
  if (known) return description ? `${known} (${description})` : known;
  return `Sign-in failed: ${description || code.replace(/_/g, ' ')}.`;
}

export async function render(ctx) {
  const { main, query, session } = ctx;
  const next = safeNext(query.get('next') ?? '/home');
  const signIn = session?.signIn ?? { providers: [], password: false };
  ctx.setTitle('Sign in');

  const messages = [];
  const problem = providerMessage(query);
  if (problem) messages.push(notice('error', problem));
  const reason = REASONS[query.get('reason')];
  if (reason && !problem) messages.push(notice('info', reason));

  if (session?.user) {
    replace(
      main,
      h(
        'section',
        { class: 'page page-narrow' },
        h('h1', null, 'Signed in'),
        ...messages,
        h('p', null, 'You are signed in as ', h('strong', null, session.user.name), '.'),
        h('p', null, h('a', { class: 'button button-primary', href: next }, 'Continue')),
      ),
    );
    return;
  }

  const sections = [];
  if (signIn.providers.length > 0) {
    sections.push(
      h(
        'div',
        { class: 'sign-in-providers' },
        signIn.providers.map((provider) =>
          h(
            'a',
            {
              class: 'button button-primary button-wide',
              href: `/zot/auth/login?${new URLSearchParams({ provider: provider.id, callback_ui: next })}`,
            },
            `Sign in with ${provider.label}`,
          ),
        ),
      ),
    );
  }

  if (signIn.password) {
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'button button-primary' }, 'Sign in');
    const form = h(
      'form',
      { class: 'form sign-in-password', 'aria-label': 'Password sign-in' },
      h('label', { for: 'username' }, 'User name'),
      h('input', {
        id: 'username',
        name: 'username',
        autocomplete: 'username',
        required: true,
        autocapitalize: 'none',
        spellcheck: 'false',
      }),
      h('label', { for: 'password' }, 'Password'),
      h('input', {
        id: 'password',
        name: 'password',
        type: 'password',
        autocomplete: 'current-password',
        required: true,
      }),
      error,
      submit,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.hidden = true;
      const data = new FormData(form);
      try {
        await auth.passwordSignIn(String(data.get('username')), String(data.get('password')));
        const session = await ctx.refreshSession();
        if (!session?.user) {
          throw new Error(
            'The registry accepted the password but did not start a session. Ask an administrator.',
          );
        }
        ctx.navigate(next, { replace: true, focus: true });
      } catch (err) {
        error.textContent =
          err?.status === 401
            ? 'Wrong user name or password.'
            : err?.status === 429
              ? 'Too many attempts. Wait a moment and try again.'
              : err.message;
        error.hidden = false;
        submit.disabled = false;
        form.querySelector('#password')?.focus();
      }
    });
    if (sections.length > 0) sections.push(h('p', { class: 'divider' }, h('span', null, 'or')));
    sections.push(form);
  }

  if (ctx.guest) {
    sections.push(
      h(
        'p',
        { class: 'guest' },
        h('a', { class: 'button button-wide', href: next, id: 'continue-as-guest' }, 'Continue as guest'),
        h('span', { class: 'muted' }, 'Browse the repositories anyone may read.'),
      ),
    );
  }

  if (sections.length === 0) {
    sections.push(notice('info', 'This registry offers no way to sign in from the browser.'));
  }

  replace(
    main,
    h(
      'section',
      { class: 'page page-narrow sign-in' },
      h('h1', null, 'Sign in'),
      h('p', { class: 'muted' }, `to ${session?.registryHost ?? location.host}`),
      ...messages,
      ...sections,
    ),
  );
}
