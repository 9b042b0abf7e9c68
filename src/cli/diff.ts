import { parseArgs } from 'node:util';
import { formatDetail, RegistryValidationError } from '../core/errors.js';
import { loadAccess } from '../registry/access.js';
import type { RegistryAccess } from '../registry/access.js';
import { diffAccess } from '../registry/diff.js';
import type { AccessChange, RegistryDiff } from '../registry/diff.js';
import { EXIT, InputError, printJson, readInput, UsageError } from './io.js';

export const DIFF_USAGE = `flex-auth diff OLD NEW [--format text|json]

  Shows what changes in who may sign for what between two registry documents, per actor,
  with groups and nested groups resolved and relationship tuples followed: actors added,
  removed, enabled or disabled; subjects added or removed (with the group path through
  which a subject gains access); actions, principals and ttl bounds widened or narrowed;
  certificate types, extensions (allowed and default), forced command and source addresses
  widened or narrowed.
  Exit 0 when nothing widens access, 3 when something does (a human must say yes),
  1 when a document is invalid or cannot be read, 2 on a usage error.`;

/** Exit code when the change grants more access than before. */
const EXIT_WIDENING = 3;

/**
 * What a change does to access, for people. A disabled actor added or removed, or a new type,
 * grants nothing and takes nothing away: `changes`. An actor added is widening unless
 * disabled; whether a removed one was disabled, the old registry says (the JSON contract's
 * change has no room for it).
 */
function label(change: AccessChange, before: RegistryAccess): string {
  if (change.widening) return 'WIDENS ';
  const neither = change.change === 'actor_added' || change.change === 'type_changed' ||
    (change.change === 'actor_removed' && before.actors.get(change.actor)?.disabled === true);
  return neither ? 'changes' : 'narrows';
}

function text(diff: RegistryDiff, before: RegistryAccess): string {
  const lines = [`flex-auth diff ${diff.from} -> ${diff.to}`];
  for (const change of diff.changes) {
    const values = change.values.length === 0 ? '' : change.change.startsWith('ttl_') || change.change === 'type_changed' || change.change === 'force_command_changed'
      ? `: ${change.values.join(' -> ')}`
      : `:\n${change.values.map((value) => `      ${value}`).join('\n')}`;
    lines.push(`  ${label(change, before)} ${change.actor} ${change.change}${values}`);
  }
  const widening = diff.changes.filter((c) => c.widening).length;
  const count = diff.changes.length;
  lines.push(
    count === 0 ? 'no change in effective access'
      : `${count} change${count === 1 ? '' : 's'}, ${widening} widening${widening > 0 ? ': this grants more access and needs an explicit human yes' : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

/** A document's access, or undefined after saying why it has none: unreadable and invalid alike exit 1, as in `validate`. */
async function load(path: string): Promise<RegistryAccess | undefined> {
  try {
    return loadAccess(await readInput(path));
  } catch (error) {
    if (error instanceof InputError) {
      process.stderr.write(`${path}: invalid\n  ${error.message}\n`);
      return undefined;
    }
    if (!(error instanceof RegistryValidationError)) throw error;
    process.stderr.write(`${path}: invalid (${error.message})\n${error.details.map((d) => `  ${formatDetail(d)}\n`).join('')}`);
    return undefined;
  }
}

export async function diff(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { format: { type: 'string', default: 'text' } },
  });
  if (positionals.length !== 2) throw new UsageError('give exactly two registry files: OLD NEW');
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format must be text or json (got ${values.format})`);
  const [before, after] = [await load(positionals[0]!), await load(positionals[1]!)];
  if (before === undefined || after === undefined) return EXIT.negative;
  const result = diffAccess(before, after);
  if (values.format === 'json') printJson(result);
  else process.stdout.write(text(result, before));
  return result.widening ? EXIT_WIDENING : EXIT.ok;
}
