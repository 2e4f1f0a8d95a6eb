/**
 * htpasswd files for the tests that sign in with passwords: bcrypt at cost 5, the lowest the
 * registry accepts, so a file of a few users is written in milliseconds.
 */
import { writeFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';

/** The text of an htpasswd file, one `user:bcrypt-hash` line per entry. */
export async function htpasswdText(users: Record<string, string>): Promise<string> {
  const lines = await Promise.all(
    Object.entries(users).map(async ([user, password]) => `${user}:${await bcrypt.hash(password, 5)}`),
  );
  return `${lines.join('\n')}\n`;
}

/** Writes `file` as an htpasswd file of `users` (name → password). */
export async function writeHtpasswd(file: string, users: Record<string, string>): Promise<void> {
  await writeFile(file, await htpasswdText(users));
}
