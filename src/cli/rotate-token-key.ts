/**
 * `berth rotate-token-key CONFIG`: puts a new token signing key in front of the data directory's
 * key file (`_berth/token-signing-keys.json`, mode 0600) and keeps the previous one for
 * verification, so nobody is logged out. Running servers pick the new key up the first time they
 * meet a token signed with it; tokens of the key before the previous one stop verifying (they
 * expired long ago: tokens live 15 minutes). Not needed when the keys come from
 * `BERTH_TOKEN_SECRET`: rotate there by moving the old value to `BERTH_TOKEN_SECRET_PREVIOUS`.
 *
 * Exit codes: 0 rotated, 2 bad configuration or keys from the environment.
 */
import path from 'node:path';
import { Command } from 'commander';
import { rotateSigningKeyFile, signingKeysFromEnv } from '../auth/tokens/signing-keys.js';
import { ConfigError, loadConfigFile } from '../config/index.js';
import { META_DIR } from '../registry/layout.js';

function fail(message: string): never {
  process.stderr.write(`berth rotate-token-key: ${message}\n`);
  process.exit(2);
}

async function rotate(file: string): Promise<void> {
  const loaded = await loadConfigFile(file).catch((err: unknown) =>
    fail(err instanceof ConfigError ? `invalid configuration: ${err.message}` : String(err)),
  );
  if (signingKeysFromEnv()) fail('the keys come from BERTH_TOKEN_SECRET; rotate them there');
  const keys = await rotateSigningKeyFile(path.join(loaded.config.storage.rootDirectory, META_DIR));
  process.stdout.write(
    `token signing key rotated: new key ${keys.current.id}; previous key still accepted\n`,
  );
}

export function rotateTokenKeyCommand(): Command {
  return new Command('rotate-token-key')
    .description('start signing registry tokens with a new key; tokens of the previous key stay valid')
    .argument('<config>', 'zot-format JSON configuration file')
    .action(rotate);
}
