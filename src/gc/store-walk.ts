/** Kept for imports: the walk lives with the registry services (`Registry.repositories`). */
export { findStoreRepositories } from '../registry/repository-folders.js';
