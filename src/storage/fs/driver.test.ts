import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeDriverContract } from '../contract.js';
import { FilesystemDriver } from './driver.js';

describeDriverContract(
  'filesystem',
  async () => new FilesystemDriver(await mkdtemp(path.join(tmpdir(), 'berth-fs-'))),
);
