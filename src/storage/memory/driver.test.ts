import { describeDriverContract } from '../contract.js';
import { MemoryDriver } from './driver.js';

describeDriverContract('memory', async () => new MemoryDriver());
