/**
 * OSV data for tests: ZIP archives in the real format (one `<id>.json` advisory per deflated
 * entry, as OSV's `<Ecosystem>/all.zip`), written in code, and a loopback HTTP server that serves
 * them at `<url>/<Ecosystem>/all.zip`, where a test can swap an archive or make it fail.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateRawSync } from 'node:zlib';

/**
 * A ZIP archive (APPNOTE.TXT) of deflated entries. With `zip64`, written as archives of more than
 * 65,535 entries or 4 GiB are: sizes and offsets in ZIP64 extra fields, a ZIP64 end record and its
 * locator, and the classic end record saturated.
 */
export function zipArchive(
  entries: { name: string; content: Buffer }[],
  options: { zip64?: boolean } = {},
): Buffer {
  const zip64 = options.zip64 === true;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = deflateRawSync(entry.content);
    const crc = crc32(entry.content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(entry.content.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(zip64 ? 0xffffffff : data.length, 20);
    central.writeUInt32LE(zip64 ? 0xffffffff : entry.content.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    const extra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(entry.content.length), 4);
      extra.writeBigUInt64LE(BigInt(data.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
      central.writeUInt16LE(extra.length, 30);
    }
    locals.push(local, name, data);
    centrals.push(central, name, extra);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const records: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    records.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(zip64 ? 0xffffffff : directory.length, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...locals, directory, ...records, end]);
}

export interface Advisory {
  id: string;
  [key: string]: unknown;
}

/** An `all.zip` of advisories. */
export function osvArchive(advisories: Advisory[]): Buffer {
  return zipArchive(
    advisories.map((a) => ({ name: `${a.id}.json`, content: Buffer.from(JSON.stringify(a)) })),
  );
}

/** An advisory affecting one package in one range. */
export function advisory(options: {
  id: string;
  ecosystem: string;
  name: string;
  introduced?: string;
  fixed?: string;
  lastAffected?: string;
  rangeType?: 'ECOSYSTEM' | 'SEMVER';
  summary?: string;
  cvss?: string;
  severity?: string;
  aliases?: string[];
}): Advisory {
  const events: Record<string, string>[] = [{ introduced: options.introduced ?? '0' }];
  if (options.fixed) events.push({ fixed: options.fixed });
  if (options.lastAffected) events.push({ last_affected: options.lastAffected });
  return {
    schema_version: '1.6.0',
    id: options.id,
    modified: '2024-01-01T00:00:00Z',
    summary: options.summary ?? `${options.name} is vulnerable`,
    details: `Details of ${options.id}.`,
    aliases: options.aliases ?? [],
    ...(options.cvss ? { severity: [{ type: 'CVSS_V3', score: options.cvss }] } : {}),
    ...(options.severity ? { database_specific: { severity: options.severity } } : {}),
    affected: [
      {
        package: { ecosystem: options.ecosystem, name: options.name },
        ranges: [{ type: options.rangeType ?? 'ECOSYSTEM', events }],
      },
    ],
    references: [{ type: 'ADVISORY', url: `https://example.test/${options.id}` }],
  };
}

export interface OsvServer {
  url: string;
  /** What each path answers: an archive, or an HTTP status to fail with. */
  files: Map<string, Buffer | number>;
  requests: string[];
  close(): Promise<void>;
}

export async function startOsvServer(archives: Record<string, Buffer> = {}): Promise<OsvServer> {
  const files = new Map<string, Buffer | number>(
    Object.entries(archives).map(([eco, zip]) => [`/${eco}/all.zip`, zip]),
  );
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const answer = files.get(req.url ?? '');
    if (answer === undefined || typeof answer === 'number') {
      res.writeHead(answer ?? 404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/zip', 'content-length': answer.length }).end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
