// Copy buttons. The Clipboard API needs a secure context (HTTPS or loopback); behind plain HTTP the
// text is copied through a temporary, selected text field instead.
import { announce, h } from './dom.js';

async function writeText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // permission refused: fall back below
    }
  }
  const field = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
  field.value = text;
  document.body.append(field);
  field.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  field.remove();
  return ok;
}

/** A button that copies `text`; `label` names what it copies for screen readers. */
export function copyButton(text, label, options = {}) {
  const visible = options.visible ?? 'Copy';
  const button = h(
    'button',
    {
      type: 'button',
      class: `button button-small copy ${options.class ?? ''}`,
      'aria-label': `Copy ${label}`,
      title: `Copy ${label}`,
      dataset: { copy: text },
    },
    visible,
  );
  button.addEventListener('click', async () => {
    const ok = await writeText(text);
    button.textContent = ok ? 'Copied' : 'Copy failed';
    button.classList.toggle('copied', ok);
    announce(ok ? `Copied ${label}` : `Could not copy ${label}; select it and copy it by hand`);
    setTimeout(() => {
      button.textContent = visible;
      button.classList.remove('copied');
    }, 1600);
  });
  return button;
}

/** A read-only line of text (a pull command, a key) with its copy button. */
export function copyField(text, label, options = {}) {
  const input = h('input', {
    class: 'copy-field-text mono',
    type: 'text',
    readonly: true,
    value: text,
    'aria-label': label,
    spellcheck: 'false',
    onFocus: (event) => event.target.select(),
  });
  return h('div', { class: `copy-field ${options.class ?? ''}` }, input, copyButton(text, label));
}
