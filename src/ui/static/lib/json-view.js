// Pretty-printed JSON with colours, built as DOM nodes (never as HTML): manifests, configs.
import { h } from './dom.js';

const INDENT = '  ';

function render(value, depth, out) {
  const pad = INDENT.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return out.push('[]');
    out.push('[\n');
    value.forEach((item, i) => {
      out.push(pad + INDENT);
      render(item, depth + 1, out);
      out.push(i < value.length - 1 ? ',\n' : '\n');
    });
    out.push(`${pad}]`);
    return;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return out.push('{}');
    out.push('{\n');
    entries.forEach(([key, item], i) => {
      out.push(pad + INDENT, h('span', { class: 'json-key' }, JSON.stringify(key)), ': ');
      render(item, depth + 1, out);
      out.push(i < entries.length - 1 ? ',\n' : '\n');
    });
    out.push(`${pad}}`);
    return;
  }
  const kind = value === null ? 'null' : typeof value;
  out.push(h('span', { class: `json-${kind}` }, JSON.stringify(value)));
}

/** A <pre> holding `value` as indented, highlighted JSON. */
export function jsonView(value, label) {
  const parts = [];
  render(value, 0, parts);
  return h('pre', { class: 'json', tabindex: '0', 'aria-label': label }, h('code', null, ...parts));
}
