/**
 * How the S3 driver assembles whole objects (the stored parts of a resumable upload, or one
 * object over 5 GiB being copied) into one object by a multipart upload, given S3's rules: every
 * part but the last at least 5 MiB, a server-side part copy (UploadPartCopy) at most 5 GiB, at
 * most 10,000 parts. Pure: the plan is computed from the sizes alone, so it is tested exhaustively
 * without a store, and the driver only executes it.
 *
 * A large source is copied server-side (never crossing the registry); small sources, and the few
 * bytes of a large one needed to bring pending small ones to 5 MiB, are read and re-uploaded,
 * merged into parts of up to `partSize`.
 */

/** Bytes [start, end) of source number `source`. */
export interface Segment {
  source: number;
  start: number;
  end: number;
}

/**
 * One part of the target, in order. A part of one segment is a server-side copy of it; a part of
 * several is read and uploaded.
 */
export type PlannedPart = Segment[];

export interface AssemblyLimits {
  /** S3's minimum part size (all parts but the last). */
  minPart: number;
  /** Largest merged (re-uploaded) part. At least `minPart`. */
  partSize: number;
  /** Largest server-side part copy. At least 2 × `minPart`. */
  maxCopy: number;
}

export function planAssembly(sizes: readonly number[], limits: AssemblyLimits): PlannedPart[] {
  const { minPart, partSize, maxCopy } = limits;
  const parts: PlannedPart[] = [];
  let pending: Segment[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    if (pending.length > 0) parts.push(pending);
    pending = [];
    pendingBytes = 0;
  };
  sizes.forEach((size, source) => {
    let offset = 0;
    if (pendingBytes > 0 || size < minPart) {
      // Merge: all of a small source, or enough of a large one to make the pending part valid;
      // all of it when the rest would be too small to copy on its own.
      const want = size < minPart ? size : Math.max(minPart - pendingBytes, 0);
      const take = size - want < minPart ? size : want;
      while (offset < take) {
        const n = Math.min(partSize - pendingBytes, take - offset);
        pending.push({ source, start: offset, end: offset + n });
        pendingBytes += n;
        offset += n;
        if (pendingBytes >= partSize) flush();
      }
      if (pendingBytes >= minPart && offset < size) flush();
    }
    while (offset < size) {
      const remaining = size - offset;
      let take = Math.min(remaining, maxCopy);
      if (remaining - take > 0 && remaining - take < minPart) take = remaining - minPart;
      parts.push([{ source, start: offset, end: offset + take }]);
      offset += take;
    }
  });
  flush();
  return parts;
}

export const partBytes = (part: PlannedPart): number => part.reduce((sum, s) => sum + s.end - s.start, 0);
