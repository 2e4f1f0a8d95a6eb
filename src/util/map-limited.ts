/**
 * Runs `work` over `items` with at most `limit` calls in flight, answering the results in the
 * items' order. After the first failure no further item starts; the ones in flight finish and the
 * first error is thrown. For I/O-bound walks (a storage driver's thread pool or network round
 * trips), where one call at a time leaves the process idle between calls.
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.err;
  return results;
}
