// Building DOM nodes without HTML strings: every text goes in as a text node, so nothing a
// registry holds (names, labels, annotations) can ever become markup.

/**
 * Creates an element. `props`: `class`, `on<Event>` listeners, `dataset`, any attribute (booleans
 * add or omit it; null/undefined/false are skipped). Children: nodes, strings, numbers, arrays.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function')
      el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'value' && 'value' in el) el.value = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === true) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replaces everything inside `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Tells screen readers something happened (copied, deleted...). */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A separate task, so that the same message twice is still read out.
  setTimeout(() => {
    region.textContent = message;
  }, 30);
}

/** A short status message in the page (success or error), also announced. */
export function notice(kind, ...children) {
  return h(
    'div',
    { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    ...children,
  );
}

/** Whether the user is typing somewhere (keyboard shortcuts must not fire then). */
export function isTyping(event) {
  const target = event.target;
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}
