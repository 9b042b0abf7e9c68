import { parseArgs } from 'node:util';
import { formatDetail, RegistryValidationError } from '../core/errors.js';
import { loadRegistry } from '../registry/load.js';
import { EXIT, InputError, readInput, UsageError } from './io.js';

export const VALIDATE_USAGE = `flex-auth validate PATH...

  Validates registry documents: prints each one's revision and counts, or every error with
  its JSON path. Exit 0 when all are valid, 1 when any is invalid or cannot be read,
  2 on a usage error (no file given, an unknown flag).`;

export async function validate(args: string[]): Promise<number> {
  // No flags: parsing still refuses an unknown one (exit 2) rather than reading it as a path. `-` is standard input.
  const { positionals: paths } = parseArgs({ args, strict: true, allowPositionals: true, options: {} });
  if (paths.length === 0) throw new UsageError('give at least one registry file');
  let allValid = true;
  for (const path of paths) {
    try {
      const registry = loadRegistry(await readInput(path));
      const { counts } = registry;
      const byType = Object.entries(counts.actors_by_type).map(([type, n]) => `${type} ${n}`).join(', ');
      process.stdout.write(
        `${path}: valid\n  revision: ${registry.revision}\n  actors: ${counts.actors} (${byType})\n  relationships: ${counts.relationships}\n`,
      );
    } catch (error) {
      allValid = false;
      if (error instanceof RegistryValidationError) {
        process.stdout.write(`${path}: invalid (${error.message})\n${error.details.map((d) => `  ${formatDetail(d)}\n`).join('')}`);
      } else if (error instanceof InputError) {
        process.stdout.write(`${path}: invalid\n  ${error.message}\n`);
      } else {
        throw error;
      }
    }
  }
  return allValid ? EXIT.ok : EXIT.negative;
}
