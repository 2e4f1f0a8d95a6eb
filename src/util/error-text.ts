/** An error's message for a log line or a report (a thrown non-Error as text). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
