// "Not found": for unknown addresses, and for repositories or images the viewer may not see (the
// registry answers both the same way, so that hidden repositories stay hidden).
import { h } from '../lib/dom.js';
import { paths } from '../lib/paths.js';

export function notFoundView(session, message) {
  const canSignIn = !session?.user && (session?.signIn?.providers?.length || session?.signIn?.password);
  return h(
    'section',
    { class: 'page page-narrow' },
    h('h1', null, 'Not found'),
    h('p', null, message),
    canSignIn
      ? h(
          'p',
          null,
          h('a', { href: paths.login({ next: location.pathname + location.search }) }, 'Sign in'),
          ' if your account may see more.',
        )
      : null,
    h('p', null, h('a', { href: paths.home() }, 'Back to the repositories')),
  );
}

export async function render(ctx) {
  ctx.setTitle('Not found');
  ctx.main.replaceChildren(notFoundView(ctx.session, 'There is no page at this address.'));
}
