/**
 * Operator commands of a self-hosted install:
 *   npm run admin -- create-user --email E --org NAME [--name N] [--role owner|admin|member|viewer]  (password: stdin or EDGETUNE_ADMIN_PASSWORD)
 *   npm run admin -- create-api-key --email E --org NAME [--name N] [--scopes read,train,publish,fleet,admin]
 *   npm run admin -- outbox [--to EMAIL] [--json] [--limit N]
 *   npm run admin -- health
 *   npm run admin -- unlock (--ip ADDRESS | --email E)
 * create-api-key prints the new key as the last line of stdout; outbox prints the e-mails that
 * went to the local outbox (no SMTP_URL), newest first. Errors go to stderr, exit 1.
 */
import { clearAttempts, findUserByEmail, isRole, limitKeys, type Role } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { closeDb } from '@edgetune/db';
import { createUser, findOrgByName, membershipOf } from '../identity/accounts';
import { createApiKey } from '../identity/api-keys';
import { listOutbox } from '../identity/email';
import { healthCheck } from '../health';

const usage = `usage:
  admin create-user --email E --org NAME [--name N] [--role owner|admin|member|viewer]
      the password is read from standard input (one line; typed without echo on a terminal)
      or from EDGETUNE_ADMIN_PASSWORD, never from the command line
  admin create-api-key --email E --org NAME [--name KEYNAME] [--scopes read,train,publish,fleet,admin]
  admin outbox [--to EMAIL] [--json] [--limit N]
  admin health   (the full health report: every component's address, pollers and errors)
  admin unlock --ip ADDRESS | --email E   (lift the brute-force lock-outs of an address or an account)`;

class UsageError extends Error {}

/** Flags that take no value. */
const booleanFlags = new Set(['json']);

export function parseArgs(argv: string[]): { command: string; flags: Record<string, string> } {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') throw new UsageError('missing command');
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      flags[a.slice(2, eq)] = a.slice(eq + 1);
    } else if (booleanFlags.has(a.slice(2))) {
      flags[a.slice(2)] = 'true';
    } else {
      const v = rest[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      flags[a.slice(2)] = v;
      i++;
    }
  }
  return { command, flags };
}

function need(flags: Record<string, string>, name: string): string {
  const v = flags[name];
  if (!v || !v.trim()) throw new UsageError(`--${name} is required`);
  return v;
}

/**
 * The new user's password: EDGETUNE_ADMIN_PASSWORD, else the first line of standard input
 * (prompted without echo on a terminal). Never argv: other users of the machine read it in `ps`,
 * and shells keep it in their history.
 */
async function readPassword(): Promise<string> {
  const fromEnv = process.env.EDGETUNE_ADMIN_PASSWORD;
  if (fromEnv) return fromEnv;
  const stdin = process.stdin;
  if (stdin.isTTY) {
    process.stderr.write('Password: ');
    stdin.setRawMode(true);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stdin as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      // Enter, Ctrl-C or Ctrl-D end the line (all single bytes, never inside a UTF-8 sequence).
      if (/[\r\n\u0003\u0004]/.test(chunk.toString('latin1')) || size > 4096) break;
    }
  } finally {
    if (stdin.isTTY) {
      stdin.setRawMode(false);
      process.stderr.write('\n');
    }
    stdin.pause();
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.includes('\u0003')) throw new UsageError('cancelled');
  const line = text.split(/\r?\n|\r|\u0004/)[0] ?? '';
  if (!line) throw new UsageError('a password is required: pipe it on standard input or set EDGETUNE_ADMIN_PASSWORD');
  return line;
}

export async function run(argv: string[], out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<void> {
  const { command, flags } = parseArgs(argv);
  if (command === 'create-user') {
    const role = flags.role;
    if (role !== undefined && !isRole(role)) throw new UsageError(`--role must be one of owner, admin, member, viewer`);
    if ('password' in flags) {
      throw new UsageError('--password is not accepted: a password on the command line is visible to every user of this machine (ps) and stays in shell history. Pipe it on standard input or set EDGETUNE_ADMIN_PASSWORD');
    }
    const email = need(flags, 'email');
    const orgName = need(flags, 'org');
    const r = await createUser({ email, password: await readPassword(), orgName, name: flags.name ?? null, role: role as Role | undefined });
    out(`Created user ${r.user.email} (${r.user.id}) as ${r.role} of organization '${r.org.name}' (${r.org.id}).`);
    return;
  }
  if (command === 'create-api-key') {
    const email = need(flags, 'email');
    const orgName = need(flags, 'org');
    const user = await findUserByEmail(email);
    if (!user) throw new DomainError('not_found', `No user with e-mail '${email}'.`);
    const org = await findOrgByName(orgName);
    if (!org) throw new DomainError('not_found', `No organization named '${orgName}'.`);
    const role = await membershipOf(user.id, org.id);
    if (!role) throw new DomainError('not_found', `User '${email}' is not a member of '${orgName}'.`);
    const scopes = flags.scopes ? flags.scopes.split(',').map((s) => s.trim()).filter(Boolean) : ['read', 'train', 'publish', 'fleet'];
    const key = await createApiKey({ orgId: org.id, userId: user.id, role, via: 'session', scopes: [] }, { name: flags.name ?? `admin-cli ${new Date().toISOString()}`, scopes });
    out(`Created API key ${key.id} (${key.scopes.join(', ')}) for ${user.email} in '${org.name}'. It is shown only once:`);
    out(key.key);
    return;
  }
  if (command === 'outbox') {
    const limit = flags.limit === undefined ? 20 : Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be an integer between 1 and 1000');
    const mails = await listOutbox({ to: flags.to ?? null, limit });
    if (flags.json === 'true') {
      out(JSON.stringify(mails.map((m) => ({ id: m.id, to: m.to, subject: m.subject, kind: m.kind, transport: m.transport, createdAt: m.createdAt, sentAt: m.sentAt, error: m.error, text: m.text }))));
      return;
    }
    if (!mails.length) out(flags.to ? `No e-mail to ${flags.to}.` : 'The outbox is empty.');
    for (const m of mails) {
      out(`── ${m.createdAt.toISOString()}  ${m.id}  [${m.kind}, ${m.transport}${m.error ? `, failed: ${m.error}` : ''}]`);
      out(`To: ${m.to}`);
      out(`Subject: ${m.subject}`);
      out('');
      out(m.text.trimEnd());
      out('');
    }
    return;
  }
  if (command === 'unlock') {
    // A support desk's tool: the address (or account) gets its failed-attempt counts and locks cleared.
    const ip = flags.ip?.trim();
    const email = flags.email?.trim();
    if (!ip === !email) throw new UsageError('unlock takes one of --ip or --email');
    const keys = ip
      ? [limitKeys.signinIp(ip), limitKeys.signupIp(ip), limitKeys.resetIp(ip), limitKeys.resetSubmitIp(ip), limitKeys.apiKeyIp(ip), limitKeys.poolTokenIp(ip), limitKeys.fleetTokenIp(ip)]
      : [limitKeys.signinAccount(email!), limitKeys.resetAccount(email!)];
    const cleared = await clearAttempts(keys);
    out(`Cleared ${cleared} lock-out record${cleared === 1 ? '' : 's'} of ${ip ? `address ${ip}` : email}.`);
    return;
  }
  if (command === 'health') {
    const report = await healthCheck();
    out(JSON.stringify(report, null, 2));
    if (report.status !== 'ok') throw new DomainError('unavailable', 'The platform is not healthy (report above).');
    return;
  }
  throw new UsageError(`unknown command '${command}'`);
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  let code = 0;
  try {
    await run(process.argv.slice(2));
  } catch (e) {
    code = 1;
    if (e instanceof UsageError) process.stderr.write(`error: ${e.message}\n${usage}\n`);
    else if (e instanceof DomainError) process.stderr.write(`error: ${e.message}\n`);
    else process.stderr.write(`error: ${(e as Error)?.message ?? String(e)}\n`);
  } finally {
    await closeDb().catch(() => undefined);
  }
  process.exit(code);
}
