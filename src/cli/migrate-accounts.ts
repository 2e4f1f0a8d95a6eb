/**
 * The accounts part of `berth migrate`, after the images: the records that let people and CI
 * carry on against the target as they did against the source — API keys (their hashes: a key
 * keeps working, its secret was never stored), the groups an admin gave service-account keys,
 * users as of their last sign-in (the groups their keys carry), how each user signs in (offboarding),
 * stars and bookmarks, download counts — read from the source's metadata store and written through
 * the target's ports (`exportAll` / `restore`), so the target's own SQL decides how they land.
 *
 * Not copied, on purpose: browser sessions and OIDC sign-ins in progress (short-lived: people sign
 * in again), pull times of retention (they follow pulls of the target), and the token signing key
 * (a secret that mints access: replicas take `BERTH_TOKEN_SECRET`; tokens are short-lived and
 * clients fetch new ones at their next challenge).
 *
 * Resumable as the images are: every `restore` is an idempotent upsert and says how many rows it
 * wrote, so a second run counts the rest as already in the target. Nothing is deleted from the
 * target: keys the target holds and the source does not (revoked in the source since an earlier
 * run, or made in the target) are reported, for a person to decide.
 */
import type { MetadataStore } from '../meta/store.js';

/** Records per `restore` call: bounded memory per statement, and progress that moves. */
const BATCH = 500;

export const ACCOUNT_KINDS = [
  'users',
  'userOrigins',
  'apiKeys',
  'keyGroups',
  'userPrefs',
  'downloadCounts',
] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];
export type AccountCounts = Record<AccountKind, number>;

export interface AccountsReport {
  /** Why no account was copied (a zot data directory has no Berth metadata database). */
  skipped?: string;
  /** Records of each kind in the source. */
  inSource: AccountCounts;
  /** Records written to the target (missing there, or different). */
  copied: AccountCounts;
  /** Records the target already held as the source has them (or newer). */
  alreadyPresent: AccountCounts;
  /** API keys in the target that the source does not hold: left alone, reported. */
  onlyInTarget: { id: string; owner: string; label: string }[];
}

export function emptyCounts(): AccountCounts {
  return { users: 0, userOrigins: 0, apiKeys: 0, keyGroups: 0, userPrefs: 0, downloadCounts: 0 };
}

export function emptyAccountsReport(skipped?: string): AccountsReport {
  return {
    ...(skipped !== undefined ? { skipped } : {}),
    inSource: emptyCounts(),
    copied: emptyCounts(),
    alreadyPresent: emptyCounts(),
    onlyInTarget: [],
  };
}

/** One `restore` call: how many records it carries, and the call (resolves with rows written). */
interface Batch {
  size: number;
  write: () => Promise<number>;
}

/** What to write, kind by kind, in batches (download counts: both tables). */
interface Exported {
  kind: AccountKind;
  rows: number;
  batches: Batch[];
}

function inBatches<T>(rows: readonly T[], restore: (batch: T[]) => Promise<number>): Batch[] {
  const batches: Batch[] = [];
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    batches.push({ size: batch.length, write: () => restore(batch) });
  }
  return batches;
}

async function exportFrom(source: MetadataStore, target: MetadataStore): Promise<Exported[]> {
  const downloads = await source.downloadCounts.exportAll();
  const users = await source.users.exportAll();
  const origins = await source.userOrigins.exportAll();
  const keys = await source.apiKeys.exportAll();
  const grants = await source.apiKeyGroups.exportAll();
  const prefs = await source.userPrefs.exportAll();
  return [
    { kind: 'users', rows: users.length, batches: inBatches(users, (b) => target.users.restore(b)) },
    {
      kind: 'userOrigins',
      rows: origins.length,
      batches: inBatches(origins, (b) => target.userOrigins.restore(b)),
    },
    // Keys before their grants: a grant is read only beside its key.
    { kind: 'apiKeys', rows: keys.length, batches: inBatches(keys, (b) => target.apiKeys.restore(b)) },
    {
      kind: 'keyGroups',
      rows: grants.length,
      batches: inBatches(grants, (b) => target.apiKeyGroups.restore(b)),
    },
    { kind: 'userPrefs', rows: prefs.length, batches: inBatches(prefs, (b) => target.userPrefs.restore(b)) },
    {
      kind: 'downloadCounts',
      rows: downloads.manifests.length + downloads.repositories.length,
      batches: [
        ...inBatches(downloads.manifests, (b) =>
          target.downloadCounts.restore({ manifests: b, repositories: [] }),
        ),
        ...inBatches(downloads.repositories, (b) =>
          target.downloadCounts.restore({ manifests: [], repositories: b }),
        ),
      ],
    },
  ];
}

export interface AccountsObserver {
  /** Called once with the number of records to copy, before any is written. */
  start(total: number): void;
  /** `count` records written or found already there. */
  done(count: number): void;
}

/**
 * Copies the account records of `source` into `target` (with `dryRun`, only counts the source's).
 * Throws what a store throws; whatever was written before is whole (each batch is one transaction
 * or one statement), and the next run writes it again at no cost.
 */
export async function copyAccounts(
  source: MetadataStore,
  target: MetadataStore,
  options: { dryRun: boolean; observer?: AccountsObserver },
): Promise<AccountsReport> {
  const report = emptyAccountsReport();
  const exported = await exportFrom(source, target);
  for (const e of exported) report.inSource[e.kind] = e.rows;
  if (options.dryRun) return report;

  options.observer?.start(exported.reduce((sum, e) => sum + e.rows, 0));
  for (const e of exported) {
    let written = 0;
    for (const batch of e.batches) {
      written += await batch.write();
      options.observer?.done(batch.size);
    }
    report.copied[e.kind] = written;
    report.alreadyPresent[e.kind] = e.rows - written;
  }

  const inSource = new Set((await source.apiKeys.exportAll()).map((k) => k.id));
  for (const key of await target.apiKeys.exportAll())
    if (!inSource.has(key.id)) report.onlyInTarget.push({ id: key.id, owner: key.owner, label: key.label });
  return report;
}

const LABELS: Record<AccountKind, string> = {
  users: 'users',
  userOrigins: 'user origins',
  apiKeys: 'API keys',
  keyGroups: 'key groups',
  userPrefs: 'stars and bookmarks',
  downloadCounts: 'download counts',
};

/** The report's lines for the accounts, and the notes that go after the counts (`formatReport`). */
export function accountLines(report: AccountsReport, dryRun: boolean): { lines: string[]; notes: string[] } {
  if (report.skipped !== undefined) return { lines: [`  accounts   skipped: ${report.skipped}`], notes: [] };
  const lines = [
    dryRun
      ? '  accounts   in the source (a run writes those missing or different in the target):'
      : '  accounts   (sessions, sign-ins in progress and the token signing key stay behind):',
  ];
  for (const kind of ACCOUNT_KINDS) {
    const name = LABELS[kind].padEnd(20);
    lines.push(
      dryRun
        ? `    ${name} ${report.inSource[kind]}`
        : `    ${name} ${report.copied[kind]} copied, ${report.alreadyPresent[kind]} already in the target`,
    );
  }
  const notes = report.onlyInTarget.map(
    (k) =>
      `note: API key ${k.id} of ${k.owner} (${JSON.stringify(k.label)}) is in the target but not in the source ` +
      '(revoked there since an earlier run, or made in the target); `berth keys revoke` it in the target if it should stop working',
  );
  return { lines, notes };
}
