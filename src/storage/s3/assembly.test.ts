import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { partBytes, planAssembly, type AssemblyLimits, type PlannedPart } from './assembly.js';

const MiB = 1024 * 1024;
const S3: AssemblyLimits = { minPart: 5 * MiB, partSize: 10 * MiB, maxCopy: 5 * 1024 * MiB };

/** Every rule S3 and the driver need from a plan, checked on one plan. */
function checkPlan(sizes: number[], limits: AssemblyLimits, plan: PlannedPart[]): void {
  const label = `sizes [${sizes.join(', ')}]`;
  // The segments, in order, cover every byte of every source exactly once.
  const segments = plan.flat();
  let source = 0;
  let offset = 0;
  for (const segment of segments) {
    while (source < sizes.length && offset === sizes[source]) {
      source++;
      offset = 0;
    }
    assert.equal(segment.source, source, `${label}: segments in source order`);
    assert.equal(segment.start, offset, `${label}: no gap or overlap`);
    assert.ok(segment.end > segment.start, `${label}: no empty segment`);
    offset = segment.end;
  }
  while (source < sizes.length && offset === sizes[source]) {
    source++;
    offset = 0;
  }
  assert.equal(source, sizes.length, `${label}: every source covered to its end`);
  plan.forEach((part, index) => {
    const bytes = partBytes(part);
    if (index < plan.length - 1)
      assert.ok(
        bytes >= limits.minPart,
        `${label}: part ${index + 1} of ${bytes} bytes is below the minimum`,
      );
    if (part.length === 1) assert.ok(bytes <= limits.maxCopy, `${label}: a copied part is at most maxCopy`);
    else assert.ok(bytes <= limits.partSize, `${label}: a merged part is at most partSize`);
  });
}

describe('planAssembly', () => {
  it('copies large sources server-side whole and merges small ones', () => {
    const plan = planAssembly([12 * MiB, 20 * MiB], S3);
    assert.deepEqual(plan, [
      [{ source: 0, start: 0, end: 12 * MiB }],
      [{ source: 1, start: 0, end: 20 * MiB }],
    ]);
    const small = planAssembly([MiB, MiB, MiB], S3);
    assert.equal(small.length, 1);
    assert.equal(small[0]!.length, 3);
  });

  it('tops pending small bytes up from the head of the next large source, and copies the rest', () => {
    const plan = planAssembly([MiB, 50 * MiB], S3);
    assert.deepEqual(plan, [
      [
        { source: 0, start: 0, end: MiB },
        { source: 1, start: 0, end: 4 * MiB },
      ],
      [{ source: 1, start: 4 * MiB, end: 50 * MiB }],
    ]);
  });

  it('splits copies over 5 GiB without leaving a too-small tail', () => {
    const size = 5 * 1024 * MiB + MiB;
    const plan = planAssembly([size], S3);
    assert.equal(plan.length, 2);
    assert.equal(partBytes(plan[1]!), 5 * MiB);
    checkPlan([size], S3, plan);
  });

  it('plans nothing for sources that are all empty', () => {
    assert.deepEqual(planAssembly([0, 0], S3), []);
    checkPlan([0, 3 * MiB, 0], S3, planAssembly([0, 3 * MiB, 0], S3));
  });

  it('keeps every rule for thousands of random size mixes, with tight limits', () => {
    const limits: AssemblyLimits = { minPart: 5, partSize: 8, maxCopy: 12 };
    let seed = 42;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 5000; round++) {
      const sizes = Array.from({ length: 1 + random(8) }, () => random(30));
      checkPlan(sizes, limits, planAssembly(sizes, limits));
      const equal = { ...limits, partSize: limits.minPart };
      checkPlan(sizes, equal, planAssembly(sizes, equal));
    }
  });

  it('fits 10,000 chunks of 1 MiB (a 10 GiB chunked push) in about 1,000 parts', () => {
    const sizes = Array.from({ length: 10_000 }, () => MiB);
    const plan = planAssembly(sizes, S3);
    checkPlan(sizes, S3, plan);
    assert.equal(plan.length, 1000);
  });
});
