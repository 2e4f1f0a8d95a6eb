/**
 * `berth doctor`: checks what a configuration depends on outside Berth, and reports each finding.
 *
 * - the data directory: exists (or can be made), a folder, writable by this user, not writable by
 *   everybody, and its free space;
 * - the TLS files: load, match, and are not about to expire;
 * - each OpenID provider: its discovery document (`<issuer>/.well-known/openid-configuration`)
 *   answers, names the same issuer, and lists the endpoints sign-in needs;
 * - each sync upstream: `GET /v2/` answers as a registry (200, or 401 with a challenge);
 * - the clock, against the `Date` headers of those answers: tokens and sessions expire wrongly
 *   when it is off.
 *
 * Reading only, no writes beyond a probe file in the data directory. No HTTP server here.
 */
import { X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { formatBytes } from '../gc/report.js';
import { readTlsFiles } from '../http/tls.js';

export type Severity = 'ok' | 'warning' | 'problem';

export interface Finding {
  readonly check: string;
  readonly severity: Severity;
  readonly message: string;
}

/** How far the clock may be off before sign-ins and token lifetimes suffer. */
export const MAX_CLOCK_SKEW_MS = 30_000;
const MIN_FREE_BYTES = 1024 ** 3;
const LOW_FREE_RATIO = 0.1;
const CERT_WARNING_MS = 14 * 24 * 60 * 60 * 1000;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Local time halfway through the exchange, to compare with the server's `Date`. */
  localTime: number;
}

/** One GET, following no redirects, with a deadline; TLS verification as the configuration says. */
export function probe(
  url: string,
  options: { insecure?: boolean; ca?: Buffer[]; timeoutMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const https = url.startsWith('https:');
    const req = (https ? httpsRequest : httpRequest)(
      url,
      {
        method: 'GET',
        headers: { 'User-Agent': 'berth-doctor', Accept: 'application/json' },
        ...(https
          ? { rejectUnauthorized: options.insecure !== true, ...(options.ca ? { ca: options.ca } : {}) }
          : {}),
      },
      (res) => {
        const localTime = (started + Date.now()) / 2;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 1_000_000) body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, localTime }));
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`no answer within ${(options.timeoutMs ?? 10_000) / 1000} s`)),
    );
    req.on('error', reject);
    req.end();
  });
}

const why = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function checkDataDirectory(root: string): Promise<Finding[]> {
  const check = 'data directory';
  const findings: Finding[] = [];
  let info;
  try {
    info = await stat(root);
  } catch {
    try {
      await mkdir(root, { recursive: true });
      await rm(root, { recursive: true });
      return [{ check, severity: 'warning', message: `${root} does not exist yet; Berth will create it` }];
    } catch (err) {
      return [
        { check, severity: 'problem', message: `${root} does not exist and cannot be created: ${why(err)}` },
      ];
    }
  }
  if (!info.isDirectory()) return [{ check, severity: 'problem', message: `${root} is not a folder` }];
  try {
    await access(root, constants.R_OK | constants.W_OK | constants.X_OK);
    const probeFile = path.join(root, `.berth-doctor-${process.pid}`);
    await writeFile(probeFile, 'probe');
    await rm(probeFile);
    findings.push({
      check,
      severity: 'ok',
      message: `${root} is writable by uid ${process.getuid?.() ?? '?'}`,
    });
  } catch (err) {
    findings.push({
      check,
      severity: 'problem',
      message: `${root} is not writable by uid ${process.getuid?.() ?? '?'}: ${why(err)}`,
    });
  }
  if ((info.mode & 0o002) !== 0)
    findings.push({
      check,
      severity: 'problem',
      message: `${root} is writable by everybody (mode ${(info.mode & 0o777).toString(8)}): chmod o-w`,
    });
  try {
    const fs = await statfs(root);
    const free = fs.bavail * fs.bsize;
    const total = fs.blocks * fs.bsize;
    const ratio = total > 0 ? free / total : 1;
    const text = `${formatBytes(free)} free of ${formatBytes(total)} (${Math.round(ratio * 100)}%)`;
    findings.push({
      check: 'free space',
      severity: free < MIN_FREE_BYTES ? 'problem' : ratio < LOW_FREE_RATIO ? 'warning' : 'ok',
      message: `${text} on the file system of ${root}`,
    });
  } catch (err) {
    findings.push({ check: 'free space', severity: 'warning', message: `cannot measure: ${why(err)}` });
  }
  return findings;
}

export async function checkTls(config: Config, now = Date.now()): Promise<Finding[]> {
  const tls = config.http.tls;
  if (tls === undefined) return [];
  try {
    readTlsFiles(tls);
  } catch (err) {
    return [
      { check: 'TLS', severity: 'problem', message: `${tls.cert} / ${tls.key} do not load: ${why(err)}` },
    ];
  }
  const findings: Finding[] = [];
  for (const file of [tls.cert, ...(tls.cacert ? [tls.cacert] : [])]) {
    // A bundle: the first certificate is the one that matters (the server's, or the first CA).
    const cert = new X509Certificate(await readFile(file));
    const left = Date.parse(cert.validTo) - now;
    findings.push({
      check: 'TLS',
      severity: left <= 0 ? 'problem' : left < CERT_WARNING_MS ? 'warning' : 'ok',
      message: `${file}: ${cert.subject.replace(/\n/g, ', ')} ${left <= 0 ? 'EXPIRED' : 'valid until'} ${new Date(cert.validTo).toISOString()}`,
    });
  }
  return findings;
}

/** Clock readings collected from remote `Date` headers. */
export class ClockReadings {
  readonly #skews: { source: string; skewMs: number }[] = [];

  record(source: string, answer: Answer): void {
    const date = answer.headers.date;
    if (typeof date !== 'string') return;
    const remote = Date.parse(date);
    // `Date` has whole seconds: half a second either way is noise.
    if (!Number.isNaN(remote)) this.#skews.push({ source, skewMs: answer.localTime - (remote + 500) });
  }

  finding(): Finding {
    if (this.#skews.length === 0)
      return {
        check: 'clock',
        severity: 'warning',
        message: 'not checked: no OIDC issuer or upstream answered with a Date header',
      };
    const worst = this.#skews.reduce((a, b) => (Math.abs(b.skewMs) > Math.abs(a.skewMs) ? b : a));
    const seconds = (worst.skewMs / 1000).toFixed(1);
    return Math.abs(worst.skewMs) > MAX_CLOCK_SKEW_MS
      ? {
          check: 'clock',
          severity: 'problem',
          message: `this machine's clock is ${seconds} s off ${worst.source}'s; sign-ins and tokens fail when clocks disagree (run NTP)`,
        }
      : {
          check: 'clock',
          severity: 'ok',
          message: `within ${Math.max(1, Math.ceil(Math.abs(worst.skewMs) / 1000))} s of ${this.#skews.map((s) => s.source).join(', ')}`,
        };
  }
}

export async function checkOidc(config: Config, clock: ClockReadings): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const [name, provider] of Object.entries(config.http.auth?.openid?.providers ?? {})) {
    if (provider.issuer === undefined) continue;
    const check = `OIDC ${name}`;
    const url = `${provider.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    try {
      const answer = await probe(url);
      clock.record(provider.issuer, answer);
      if (answer.status !== 200) {
        findings.push({ check, severity: 'problem', message: `${url} answered ${answer.status}` });
        continue;
      }
      const doc = JSON.parse(answer.body) as Record<string, unknown>;
      const missing = ['authorization_endpoint', 'token_endpoint', 'jwks_uri'].filter(
        (k) => typeof doc[k] !== 'string',
      );
      const same =
        typeof doc.issuer === 'string' &&
        doc.issuer.replace(/\/+$/, '') === provider.issuer.replace(/\/+$/, '');
      if (!same)
        findings.push({
          check,
          severity: 'problem',
          message: `the discovery document names issuer ${JSON.stringify(doc.issuer)}, the configuration ${JSON.stringify(provider.issuer)}: ID tokens would be refused`,
        });
      else if (missing.length > 0)
        findings.push({
          check,
          severity: 'problem',
          message: `the discovery document lacks ${missing.join(', ')}`,
        });
      else findings.push({ check, severity: 'ok', message: `${provider.issuer}: discovery document fine` });
    } catch (err) {
      findings.push({ check, severity: 'problem', message: `${url}: ${why(err)}` });
    }
  }
  return findings;
}

async function certificateAuthorities(certDir: string | undefined): Promise<Buffer[] | undefined> {
  if (certDir === undefined) return undefined;
  try {
    const names = (await readdir(certDir)).filter((n) => n.endsWith('.crt'));
    return names.length === 0
      ? undefined
      : await Promise.all(names.map((n) => readFile(path.join(certDir, n))));
  } catch {
    return undefined;
  }
}

export async function checkUpstreams(config: Config, clock: ClockReadings): Promise<Finding[]> {
  const sync = config.extensions?.sync;
  if (sync === undefined || !sync.enable) return [];
  const findings: Finding[] = [];
  for (const registry of sync.registries) {
    const ca = await certificateAuthorities(registry.certDir);
    for (const url of registry.urls) {
      const check = 'sync upstream';
      const ping = `${url.replace(/\/+$/, '')}/v2/`;
      try {
        const answer = await probe(ping, { insecure: !registry.tlsVerify, ...(ca ? { ca } : {}) });
        clock.record(new URL(url).host, answer);
        const challenge = answer.headers['www-authenticate'];
        if (answer.status === 200 || (answer.status === 401 && challenge !== undefined))
          findings.push({
            check,
            severity: 'ok',
            message: `${url} answers as a registry (${answer.status}${answer.status === 401 ? ', asks for a token' : ''})`,
          });
        else
          findings.push({
            check,
            severity: 'problem',
            message: `${ping} answered ${answer.status}, not as a registry`,
          });
      } catch (err) {
        findings.push({ check, severity: 'problem', message: `${url}: ${why(err)}` });
      }
    }
  }
  return findings;
}

/** Every check, in the order they are printed. */
export async function runDoctor(config: Config): Promise<Finding[]> {
  const clock = new ClockReadings();
  const findings: Finding[] = [];
  findings.push(...(await checkDataDirectory(config.storage.rootDirectory)));
  findings.push(...(await checkTls(config)));
  findings.push(...(await checkOidc(config, clock)));
  findings.push(...(await checkUpstreams(config, clock)));
  findings.push(clock.finding());
  return findings;
}
