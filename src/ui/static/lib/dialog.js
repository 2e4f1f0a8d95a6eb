// Confirmation dialogs on the native <dialog> element: focus moves into it and stays there,
// Escape cancels, and focus returns to the button that opened it.
import { h } from './dom.js';

/**
 * Asks the user to confirm a destructive action. Resolves true when confirmed. `action` runs
 * while the dialog stays open (errors are shown in it); the dialog closes when it succeeds.
 */
export function confirmDialog({ title, body, confirmLabel, action }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const error = h('p', { class: 'dialog-error', role: 'alert', hidden: true });
    const cancel = h('button', { type: 'button', class: 'button', value: 'cancel' }, 'Cancel');
    const confirm = h(
      'button',
      { type: 'submit', class: 'button button-danger', value: 'confirm' },
      confirmLabel,
    );
    const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': titleId },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: titleId }, title),
        h('div', { class: 'dialog-body' }, body),
        error,
        h('div', { class: 'dialog-actions' }, cancel, confirm),
      ),
    );
    let result = false;
    const close = () => {
      dialog.close();
    };
    cancel.addEventListener('click', close);
    dialog.addEventListener('submit', async (event) => {
      event.preventDefault();
      confirm.disabled = true;
      cancel.disabled = true;
      error.hidden = true;
      try {
        await action?.();
        result = true;
        close();
      } catch (err) {
        error.textContent = err?.message ?? String(err);
        error.hidden = false;
        confirm.disabled = false;
        cancel.disabled = false;
        confirm.focus();
      }
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
