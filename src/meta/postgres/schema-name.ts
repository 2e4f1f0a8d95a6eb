/**
 * What a PostgreSQL schema name for Berth may be: a plain lowercase identifier, because schema
 * names are interpolated into SQL (search_path, CREATE SCHEMA, the NOTIFY channel) and must never
 * need quoting. Checked by the config schema at load and by the store before use.
 */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
