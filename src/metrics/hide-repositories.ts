/**
 * Prometheus text with repository labels limited to what the scraper may read (issue 11): every
 * sample whose `repo` label names a repository the scraper may not read is relabelled
 * `repo="_hidden"` and summed with the others so relabelled, so the scraper learns neither the
 * names nor the per-repository activity of a hidden tree, while totals still add up. Every
 * repository-labelled metric Berth exports is a counter, a histogram or a size gauge: sums are
 * meaningful for all of them. zot labels every repository for every scraper.
 */

export const HIDDEN_REPO_LABEL = '_hidden';

/** Label values that are not repository names. */
const NOT_A_REPOSITORY = new Set(['N/A', HIDDEN_REPO_LABEL]);

const REPO_LABEL = /([{,])repo="([^"\\]*)"/;

/** `text` (Prometheus exposition format) with hidden repositories aggregated. */
export function hideRepositories(text: string, mayRead: (repo: string) => boolean): string {
  const out: string[] = [];
  /** Index in `out` of each aggregated series, by its rewritten name and labels. */
  const aggregated = new Map<string, number>();
  const sums: number[] = [];
  const verdicts = new Map<string, boolean>();
  for (const line of text.split('\n')) {
    const match = line.startsWith('#') ? null : REPO_LABEL.exec(line);
    const repo = match?.[2];
    if (match === null || repo === undefined || NOT_A_REPOSITORY.has(repo)) {
      out.push(line);
      continue;
    }
    let readable = verdicts.get(repo);
    if (readable === undefined) verdicts.set(repo, (readable = mayRead(repo)));
    if (readable) {
      out.push(line);
      continue;
    }
    const space = line.lastIndexOf(' ');
    const series = line.slice(0, space).replace(REPO_LABEL, `$1repo="${HIDDEN_REPO_LABEL}"`);
    const value = Number(line.slice(space + 1));
    const at = aggregated.get(series);
    if (at === undefined) {
      aggregated.set(series, out.length);
      sums[out.length] = value;
      out.push(`${series} ${value}`);
    } else {
      sums[at] = (sums[at] ?? 0) + value;
      out[at] = `${series} ${sums[at]}`;
    }
  }
  return out.join('\n');
}
