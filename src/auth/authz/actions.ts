/** The four actions zot's `accessControl` grants. */
export type Action = 'read' | 'create' | 'update' | 'delete';

export const ACTIONS: readonly Action[] = Object.freeze(['read', 'create', 'update', 'delete'] as const);

/**
 * True for the four action names. zot does not validate action strings in its config (a typo such as
 * `"write"` silently grants nothing), and neither does the evaluator: unknown strings are ignored.
 */
export function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}
