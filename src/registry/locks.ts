/** In-process keyed mutexes; the cross-process locks are the Coordination port's (`coordination/`). */
export { KeyedLock } from '../coordination/keyed-lock.js';
