import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { formatEta, Progress, progressLine } from './progress.js';

function stream(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  Object.assign(out, { isTTY: tty, columns: 120 });
  return { stream: out as unknown as NodeJS.WriteStream, text: () => text };
}

describe('progress line', () => {
  it('shows items, bytes, rate and ETA', () => {
    const line = progressLine(
      'scrub',
      { unit: 'repositories', bytesLabel: 're-hashed' },
      { done: 10, total: 40, bytes: 100 * 1024 * 1024, elapsedSeconds: 20 },
    );
    assert.equal(line, 'scrub  10/40 repositories  100.0 MiB re-hashed  5.0 MiB/s  ETA 1:00');
  });

  it('with a byte total, shows it and takes the ETA from the bytes', () => {
    const line = progressLine(
      'migrate',
      { unit: 'items', bytesLabel: 'copied' },
      { done: 1, total: 100, bytes: 30 * 1024 * 1024, elapsedSeconds: 10, totalBytes: 90 * 1024 * 1024 },
    );
    assert.equal(line, 'migrate  1/100 items  30.0 MiB of 90.0 MiB copied  3.0 MiB/s  ETA 0:20');
  });

  it('without a bytes label, counts items only (records copied one by one)', () => {
    const line = progressLine(
      'accounts',
      { unit: 'records' },
      { done: 300, total: 1200, bytes: 0, elapsedSeconds: 2 },
    );
    assert.equal(line, 'accounts  300/1200 records  ETA 0:06');
  });

  it('formats ETAs past an hour', () => {
    assert.equal(formatEta(3725), '1:02:05');
    assert.equal(formatEta(59.6), '1:00');
  });

  it('draws on a terminal and clears the line at the end', () => {
    const tty = stream(true);
    let t = 0;
    const progress = new Progress('gc', {
      unit: 'repositories',
      bytesLabel: 'freed',
      stream: tty.stream,
      now: () => t,
    });
    progress.start(2);
    t = 1000;
    progress.tick(1024);
    t = 2000;
    progress.tick(1024);
    progress.finish();
    assert.match(tty.text(), /gc {2}2\/2 repositories {2}2\.0 KiB freed/);
    assert.ok(tty.text().endsWith('\r\x1b[2K'));
  });

  it('stays silent when not a terminal (scripts)', () => {
    const pipe = stream(false);
    const progress = new Progress('gc', { unit: 'repositories', bytesLabel: 'freed', stream: pipe.stream });
    progress.start(1);
    progress.tick(5);
    progress.finish();
    assert.equal(pipe.text(), '');
  });
});
