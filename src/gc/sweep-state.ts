import type { RegistryIndex } from '../meta/registry-index.js';

/**
 * What one sweep remembers across repositories, so that the bytes it reports freed are right when
 * many repositories share a blob (a base layer may be in thousands). Asking for every holder of
 * each removed blob made a sweep of N repositories sharing one cost N² index rows; here each answer
 * costs one row, or in a dry run one read per blob per sweep.
 */
export class SweepState {
  /** Dry run: each blob's holders as the index has them (it keeps the rows a dry run "removes"). */
  private readonly holders = new Map<string, Promise<Set<string>>>();
  /** Dry run: how many of those holders this sweep has removed, per blob. */
  private readonly removedHolders = new Map<string, number>();

  constructor(
    private readonly index: RegistryIndex,
    private readonly dryRun: boolean,
  ) {}

  /**
   * Notes that the sweep removes (or, in a dry run, would remove) `repo`'s link to the blob, and
   * answers whether another repository still holds it after this sweep's removals so far.
   */
  async removing(repo: string, digest: string): Promise<boolean> {
    // A sweep deletes the index row of each link it removes: the first other row left answers.
    if (!this.dryRun) return (await this.index.blobHolder(digest, repo)) !== undefined;
    let load = this.holders.get(digest);
    if (load === undefined) {
      load = this.index.blobHolders(digest).then((list) => new Set(list));
      this.holders.set(digest, load);
    }
    const holders = await load;
    const removed = this.removedHolders.get(digest) ?? 0;
    if (!holders.has(repo)) return holders.size - removed > 0;
    this.removedHolders.set(digest, removed + 1);
    return holders.size - removed - 1 > 0;
  }
}
