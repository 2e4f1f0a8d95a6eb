/** Comparisons of secrets whose duration does not depend on where, or whether, the inputs differ. */
import { createHash, timingSafeEqual } from 'node:crypto';

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Constant-time string equality. Both sides are hashed first so that inputs of different lengths take
 * the same time too (`timingSafeEqual` alone throws on a length mismatch, and an early length check
 * would leak the secret's length).
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}
