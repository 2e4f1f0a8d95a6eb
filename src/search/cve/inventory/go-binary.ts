/**
 * Go binaries' embedded build information (what `go version -m` prints): the Go release and the
 * modules linked in. Go 1.18+ writes a 32-byte header starting with the magic `\xff Go buildinf:`
 * followed, when flag bit 2 is set, by two length-prefixed (uvarint) strings: the Go version and
 * the module info, whose lines are `mod`, `dep` and `=>` (replacement) records. Older binaries
 * (pointer-based build info) are not read.
 *
 * The binary streams past; only the few bytes around the magic are ever kept.
 */
import type { Readable } from 'node:stream';
import type { InstalledPackage } from './package.js';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER = 32;
/** Enough for the header and the module list of a binary with thousands of dependencies. */
const CAPTURE = 1024 * 1024;

function uvarint(b: Buffer, at: number): [number, number] | undefined {
  let value = 0;
  let shift = 0;
  for (let i = at; i < b.length && i < at + 10; i++) {
    const byte = b[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, i + 1];
    shift += 7;
  }
  return undefined;
}

function readString(b: Buffer, at: number): [string, number] | undefined {
  const n = uvarint(b, at);
  if (!n || n[1] + n[0] > b.length) return undefined;
  return [b.toString('utf8', n[1], n[1] + n[0]), n[1] + n[0]];
}

/** Packages from the bytes that start at the build-info magic. */
export function parseBuildInfo(b: Buffer, path: string): InstalledPackage[] {
  if (b.length < HEADER || !b.subarray(0, MAGIC.length).equals(MAGIC)) return [];
  if ((b[15]! & 2) === 0) return [];
  const version = readString(b, HEADER);
  if (!version) return [];
  const mod = readString(b, version[1]);
  const out: InstalledPackage[] = [];
  const go = /^go(\d+\.\d+(?:\.\d+)?)$/.exec(version[0]);
  if (go) out.push({ ecosystem: 'Go', name: 'stdlib', version: go[1]!, path });
  if (!mod) return out;
  let info = mod[0];
  // The module info is framed by 16-byte sentinels.
  if (info.length >= 33 && info[info.length - 17] === '\n') info = info.slice(16, -16);
  const modules: InstalledPackage[] = [];
  for (const line of info.split('\n')) {
    const [kind, name, v] = line.split('\t');
    if (kind === '=>' && name && v && modules.length > 0) {
      modules[modules.length - 1] = { ecosystem: 'Go', name, version: v, path };
    } else if ((kind === 'mod' || kind === 'dep') && name && v && v !== '(devel)') {
      modules.push({ ecosystem: 'Go', name, version: v, path });
    }
  }
  return [...out, ...modules];
}

/** Reads a file's stream to its end, returning the packages of its build info if it has one. */
export async function scanGoBinary(stream: Readable, path: string): Promise<InstalledPackage[]> {
  let carry = Buffer.alloc(0);
  let captured: Buffer[] | undefined;
  let capturedBytes = 0;
  let first = true;
  let skip = false;
  // Read to the end whatever happens: leaving the loop early would destroy the tar entry, and
  // with it the whole layer's parser.
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (skip) continue;
    if (first) {
      first = false;
      // Only ELF, Mach-O and PE executables are worth the scan.
      const head = chunk.subarray(0, 4);
      const executable =
        head.length === 4 &&
        (head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) ||
          head.readUInt32LE(0) === 0xfeedfacf ||
          head.readUInt32LE(0) === 0xfeedface ||
          head.subarray(0, 2).toString('latin1') === 'MZ');
      if (!executable) {
        skip = true;
        continue;
      }
    }
    if (captured) {
      if (capturedBytes < CAPTURE) {
        captured.push(chunk);
        capturedBytes += chunk.length;
      }
      continue;
    }
    const window = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const at = window.indexOf(MAGIC);
    if (at >= 0) {
      captured = [window.subarray(at)];
      capturedBytes = window.length - at;
    } else {
      carry = Buffer.from(window.subarray(Math.max(0, window.length - MAGIC.length + 1)));
    }
  }
  if (skip || !captured) return [];
  return parseBuildInfo(Buffer.concat(captured).subarray(0, CAPTURE), path);
}
