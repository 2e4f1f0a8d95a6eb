import type { RegistryIndex } from '../meta/registry-index.js';

/**
 * What one sweep remembers across repositories: which blob links it removed, so that the bytes it
 * reports freed are right when many repositories share a blob (a base layer may be in thousands).
 * Asking for every holder of each removed blob made a sweep of N repositories sharing one cost N²
 * index rows; here each answer costs one row, or in a dry run one read per blob per sweep.
 */
export class SweepState {
  /** Dry run: each blob's holders as the index has them (it keeps the rows a dry run "removes"). */
  private readonly holders = new Map<string, Promise<Set<string>>>();
  private readonly loaded = new Map<string, Set<string>>();
  /** Dry run: how many of those holders this sweep removed, per blob. */
  private readonly removedHolders = new Map<string, number>();

  constructor(
    private readonly index: RegistryIndex,
    private readonly dryRun: boolean,
  ) {}

  /** Whether a repository other than `repo` still holds the blob, counting this sweep's removals. */
  async heldElsewhere(repo: string, digest: string): Promise<boolean> {
    // A sweep deletes the index row of each link it removes: the first other row left answers.
    if (!this.dryRun) return (await this.index.blobHolder(digest, repo)) !== undefined;
    let load = this.holders.get(digest);
    if (load === undefined) {
      load = this.index.blobHolders(digest).then((list) => {
        const set = new Set(list);
        this.loaded.set(digest, set);
        return set;
      });
      this.holders.set(digest, load);
    }
    const holders = await load;
    const others = holders.size - (holders.has(repo) ? 1 : 0) - (this.removedHolders.get(digest) ?? 0);
    return others > 0;
  }

  /** Records that the sweep removed (or, in a dry run, would remove) `repo`'s link to the blob. */
  removed(repo: string, digest: string): void {
    if (this.loaded.get(digest)?.has(repo) === true)
      this.removedHolders.set(digest, (this.removedHolders.get(digest) ?? 0) + 1);
  }
}
