import { describeUploadSessionsContract } from '../upload-sessions.contract.js';
import { MemoryUploadSessions } from './upload-sessions.js';

describeUploadSessionsContract('memory', async () => {
  const store = new MemoryUploadSessions();
  return [store, store];
});
