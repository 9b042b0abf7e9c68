/**
 * OpenSSH as the real consumer of a grant: ssh-keygen as the CA that stands in for OpenBao's
 * `ssh/sign/:role` (OpenBao's Go module is refused by the module proxy), `ssh-keygen -L` to read
 * a certificate back, a real `sshd` of our own on loopback, and the real `ssh` client. Debian's
 * `openssh-server` and `openssh-client` packages; a missing binary is an error naming them.
 */
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { OpenBaoSshSignRequest } from '../../src/client/openbao-sign.js';
import { runCommand, spawnProcess } from './process.js';
import type { CommandResult, RunningProcess } from './process.js';

/** sshd re-executes itself and so must be started by its absolute path. */
const SSHD = '/usr/sbin/sshd';
// sshd's privilege-separation directory is compiled in; the Debian service creates it at start.
const PRIVSEP_DIR = '/run/sshd';
const INSTALL_HINT = 'install Debian\'s openssh-server and openssh-client (apt-get install -y --no-install-recommends openssh-server openssh-client; .ci/run does)';

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Throws, naming the package to install, unless sshd, ssh and ssh-keygen are here and we are root. */
export function requireOpenSsh(): void {
  if (!executable(SSHD)) throw new Error(`${SSHD} is missing: the OpenSSH suite needs a real sshd from openssh-server; ${INSTALL_HINT}`);
  for (const name of ['ssh', 'ssh-keygen']) {
    const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
    if (!dirs.some((dir) => executable(path.join(dir, name)))) throw new Error(`${name} is not on PATH: the OpenSSH suite needs openssh-client; ${INSTALL_HINT}`);
  }
  // sshd switches to the user it logs in, and its privilege separation needs root.
  if (process.getuid?.() !== 0) throw new Error('the OpenSSH suite runs its own sshd and so must run as root (as .ci/run does)');
}

async function mustRun(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<CommandResult> {
  const result = await runCommand(command, args, { timeoutMs: 20_000, env });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${String(result.code)}:\n${result.stdout}${result.stderr}`);
  return result;
}

/** A new ed25519 key pair without a passphrase: `file` and `file.pub`. */
export async function generateKey(file: string, comment: string): Promise<void> {
  await mustRun('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** The whole seconds of a sign request's ttl (`"28800s"`). */
function ttlSecondsOf(request: OpenBaoSshSignRequest): number {
  const match = /^([1-9][0-9]*)s$/.exec(request.ttl);
  if (!match) throw new Error(`ttl ${JSON.stringify(request.ttl)} is not whole seconds`);
  return Number(match[1]);
}

/**
 * `ssh-keygen` arguments that sign `publicKeyFile` exactly as OpenBao signs `request` with a role
 * that adds nothing of its own: `-O clear` first, because ssh-keygen (like a role's
 * default_extensions) otherwise grants every permit-* extension. The window starts now and lasts
 * the ttl; with `endedSecondsAgo` it has the same length but ended that long ago.
 */
export function sshKeygenSignArgs(
  request: OpenBaoSshSignRequest,
  files: { readonly caKey: string; readonly publicKeyFile: string },
  options: { readonly endedSecondsAgo?: number } = {},
): string[] {
  const ttl = ttlSecondsOf(request);
  const ago = options.endedSecondsAgo;
  const validity = ago === undefined ? `+0s:+${ttl}s` : `-${ttl + ago}s:-${ago}s`;
  return [
    '-q',
    '-s', files.caKey,
    '-I', request.key_id,
    '-n', request.valid_principals,
    '-V', validity,
    ...(request.cert_type === 'host' ? ['-h'] : []),
    '-O', 'clear',
    ...Object.keys(request.extensions).flatMap((name) => ['-O', name]),
    ...Object.entries(request.critical_options).flatMap(([name, value]) => ['-O', `${name}=${value}`]),
    files.publicKeyFile,
  ];
}

/**
 * Signs `request.public_key` with the CA key as OpenBao would, in `dir` under `name`; returns
 * the certificate's path (`dir/name-cert.pub`).
 */
export async function signLikeOpenBao(
  request: OpenBaoSshSignRequest,
  caKey: string,
  dir: string,
  name: string,
  options: { readonly endedSecondsAgo?: number } = {},
): Promise<string> {
  const publicKeyFile = path.join(dir, `${name}.pub`);
  writeFileSync(publicKeyFile, `${request.public_key.trim()}\n`);
  await mustRun('ssh-keygen', sshKeygenSignArgs(request, { caKey, publicKeyFile }, options));
  return path.join(dir, `${name}-cert.pub`);
}

/** What `ssh-keygen -L` shows of a certificate. Times are seconds since the epoch. */
export interface CertificateListing {
  readonly certType: string;
  readonly keyId: string;
  readonly validFrom: number;
  readonly validTo: number;
  readonly principals: string[];
  /** OpenSSH name -> its contents, as listed (`force-command` -> the command). */
  readonly criticalOptions: Record<string, string>;
  readonly extensions: string[];
}

/** Reads a certificate back with `ssh-keygen -L` (in UTC, so the times parse the same anywhere). */
export async function listCertificate(file: string): Promise<CertificateListing> {
  const { stdout } = await mustRun('ssh-keygen', ['-L', '-f', file], { TZ: 'UTC' });
  const fields = new Map<string, string>();
  const sections = new Map<string, string[]>();
  let section: string[] | undefined;
  for (const line of stdout.split('\n').slice(1)) {
    const field = /^\s{1,12}([A-Za-z ]+):\s?(.*)$/.exec(line);
    if (field && !/^\s{13,}/.test(line)) {
      const [, name, value] = field as unknown as [string, string, string];
      fields.set(name, value.trim());
      section = undefined;
      if (value.trim() === '' || value.trim() === '(none)') sections.set(name, (section = []));
    } else if (line.trim() !== '' && section) {
      section.push(line.trim());
    }
  }
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`ssh-keygen -L shows no ${what}:\n${stdout}`);
    return value;
  };
  const valid = need(/^from (\S+) to (\S+)$/.exec(need(fields.get('Valid'), 'Valid')) ?? undefined, 'Valid window');
  const seconds = (time: string): number => Date.parse(`${time}Z`) / 1000;
  const keyId = need(/^"(.*)"$/.exec(need(fields.get('Key ID'), 'Key ID')) ?? undefined, 'quoted Key ID');
  return {
    certType: need(/ (user|host) certificate$/.exec(need(fields.get('Type'), 'Type')) ?? undefined, 'certificate type')[1]!,
    keyId: keyId[1]!,
    validFrom: seconds(valid[1]!),
    validTo: seconds(valid[2]!),
    principals: need(sections.get('Principals'), 'Principals'),
    criticalOptions: Object.fromEntries(
      need(sections.get('Critical Options'), 'Critical Options').map((entry) => {
        const space = entry.indexOf(' ');
        return space < 0 ? [entry, ''] : [entry.slice(0, space), entry.slice(space + 1)];
      }),
    ),
    extensions: need(sections.get('Extensions'), 'Extensions'),
  };
}

/** Binds `host:port` (0: any port) and releases it; resolves with the port that was bound. */
async function portFreeOn(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => {
      const bound = (server.address() as AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port free on every one of `hosts` right now. Binding is also the check that a second
 * loopback address such as 127.0.0.2 is usable (Linux routes all of 127/8 to lo).
 */
async function freePortOn(hosts: readonly string[]): Promise<number> {
  let port = 0;
  for (const host of hosts) {
    try {
      port = await portFreeOn(port, host);
    } catch (error) {
      throw new Error(`cannot bind ${host}:${port}: ${(error as Error).message} (the OpenSSH suite needs ${hosts.join(' and ')} on loopback)`);
    }
  }
  return port;
}

export interface Sshd {
  readonly port: number;
  /** `[127.0.0.1]:PORT ssh-ed25519 ...`: the only host key the client trusts. */
  readonly knownHostsFile: string;
  readonly proc: RunningProcess;
  stop(): Promise<void>;
}

/**
 * A real sshd of our own (`sshd -D -e -f CONFIG`) listening on `listen` (loopback addresses),
 * with its own host key, trusting user certificates from `caPublicKeyFile`, and for each local
 * user the principals `principalsByUser` gives (AuthorizedPrincipalsFile). Public keys only; no
 * authorized_keys, no PAM, no password. Resolves once it listens on every address.
 */
export async function startSshd(options: {
  readonly dir: string;
  readonly caPublicKeyFile: string;
  readonly principalsByUser: Readonly<Record<string, readonly string[]>>;
  readonly listen: readonly string[];
}): Promise<Sshd> {
  const { dir } = options;
  mkdirSync(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  await generateKey(hostKey, 'flex-auth-test-host');
  const principalsDir = path.join(dir, 'principals');
  mkdirSync(principalsDir, { recursive: true });
  for (const [user, principals] of Object.entries(options.principalsByUser)) {
    writeFileSync(path.join(principalsDir, user), principals.map((p) => `${p}\n`).join(''));
  }
  const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim();
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const port = await freePortOn(options.listen);
    const config = path.join(dir, `sshd_config.${attempt}`);
    writeFileSync(
      config,
      [
        ...options.listen.map((address) => `ListenAddress ${address}:${port}`),
        `HostKey ${hostKey}`,
        'PidFile none',
        `TrustedUserCAKeys ${options.caPublicKeyFile}`,
        `AuthorizedPrincipalsFile ${principalsDir}/%u`,
        'AuthorizedKeysFile none',
        'AuthenticationMethods publickey',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // Root's own files in a temp dir: sshd's ownership checks would refuse them.
        'StrictModes no',
        // The sandbox runs as root: a certificate may log in as root, never with a password.
        'PermitRootLogin prohibit-password',
        'UseDNS no',
        'X11Forwarding no',
        'PrintMotd no',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    const checked = await runCommand(SSHD, ['-t', '-f', config], { timeoutMs: 10_000 });
    if (checked.code !== 0) throw new Error(`sshd -t refused ${config}:\n${checked.stderr}`);
    const proc = spawnProcess(`sshd (attempt ${attempt})`, SSHD, ['-D', '-e', '-f', config]);
    try {
      for (const address of options.listen) {
        await proc.stderr.waitFor((line) => line.raw.includes(`Server listening on ${address} port ${port}.`), `sshd listening on ${address}:${port}`, { timeoutMs: 10_000 });
      }
      const knownHostsFile = path.join(dir, 'known_hosts');
      writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
      return { port, knownHostsFile, proc, stop: async () => void (await proc.stop('SIGTERM', 5000)) };
    } catch (error) {
      lastError = error;
      await proc.stop('SIGKILL');
    }
  }
  throw new Error(`sshd did not start in 3 attempts: ${String(lastError)}`);
}

/**
 * The real `ssh` client: logs in to 127.0.0.1 as `user` with the key and its certificate only
 * (no agent, no config file, no other identity), trusting only the test sshd's host key, and
 * runs `command`; from `bind` when given, with a terminal when asked. Bounded: connect timeout 5 s, killed after 20 s.
 */
export function ssh(options: {
  readonly sshd: Sshd;
  readonly user: string;
  readonly key: string;
  readonly certificate: string;
  readonly command: string;
  readonly bind?: string;
  /** Ask for a terminal (`-tt`), as an interactive login does. */
  readonly terminal?: boolean;
}): Promise<CommandResult> {
  return runCommand(
    'ssh',
    [
      '-F', '/dev/null',
      '-i', options.key,
      '-o', `CertificateFile=${options.certificate}`,
      '-o', 'IdentitiesOnly=yes',
      '-o', 'IdentityAgent=none',
      '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${options.sshd.knownHostsFile}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'ConnectTimeout=5',
      '-p', String(options.sshd.port),
      ...(options.bind === undefined ? [] : ['-b', options.bind]),
      ...(options.terminal ? ['-tt'] : []),
      `${options.user}@127.0.0.1`,
      options.command,
    ],
    { timeoutMs: 20_000 },
  );
}
