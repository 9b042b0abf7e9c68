#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { closest, flagsOf } from './flags.js';
import { EXIT, UsageError } from './io.js';

interface Command {
  readonly run: (args: string[]) => Promise<number>;
  readonly usage: string;
}

/**
 * Each command is loaded only when run, so `check` and `validate` do not pay for what `serve`
 * needs (the HTTP stack, and the Kubernetes client for the ConfigMap source); the overview
 * loads them all.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => { const m = await import('./serve.js'); return { run: m.serve, usage: m.SERVE_USAGE }; },
  check: async () => { const m = await import('./check.js'); return { run: m.check, usage: m.CHECK_USAGE }; },
  validate: async () => { const m = await import('./validate.js'); return { run: m.validate, usage: m.VALIDATE_USAGE }; },
  test: async () => { const m = await import('./test.js'); return { run: m.test, usage: m.TEST_USAGE }; },
  diff: async () => { const m = await import('./diff.js'); return { run: m.diff, usage: m.DIFF_USAGE }; },
  configmap: async () => { const m = await import('./configmap.js'); return { run: m.configmap, usage: m.CONFIGMAP_USAGE }; },
  audit: async () => { const m = await import('./audit.js'); return { run: m.audit, usage: m.AUDIT_USAGE }; },
  status: async () => { const m = await import('./status.js'); return { run: m.status, usage: m.STATUS_USAGE }; },
  smoke: async () => { const m = await import('./smoke.js'); return { run: m.smoke, usage: m.SMOKE_USAGE }; },
};

/** A usage text's synopsis: its lines up to the first blank one. */
function synopsis(usage: string): string {
  return usage.split('\n\n')[0]!;
}

/** The overview: each command's own synopsis, so that it cannot drift from `COMMAND --help`. */
async function overview(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  const synopses = [...commands.map((command) => synopsis(command.usage)), 'flex-auth help [COMMAND]', 'flex-auth --version'];
  return `flex-auth: policy decision point for SSH certificate signing

Commands:
${synopses.join('\n').replace(/^/gm, '  ')}

Run flex-auth help COMMAND (or flex-auth COMMAND --help) for more.`;
}

function version(): string {
  // dist/src/cli/index.js -> the package's own package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** parseArgs's own wording suggests quoting a positional; say which flag was meant instead. */
function flagMessage(error: Error & { code?: string }, usage: string): string {
  if (error.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return error.message;
  const given = /^Unknown option '([^']+)'/.exec(error.message)?.[1] ?? '';
  const meant = closest(given, flagsOf(usage));
  return `unknown option ${given}${meant ? ` (did you mean ${meant}?)` : ''}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`flex-auth ${version()}\n`);
    return EXIT.ok;
  }
  // `help --help` and `help help` ask about help itself: the overview.
  const wantsHelp = name === 'help' && args.length > 0 && !['--help', '-h', 'help'].includes(args[0]!);
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && !wantsHelp)) {
    process.stdout.write(`${await overview()}\n`);
    return name === undefined ? EXIT.badInput : EXIT.ok;
  }
  const commandName = wantsHelp ? args[0]! : name;
  const load = COMMANDS[commandName];
  if (!load) {
    const meant = closest(commandName, Object.keys(COMMANDS));
    process.stderr.write(`flex-auth: unknown command ${commandName}${meant ? ` (did you mean ${meant}?)` : ''}\n\n${await overview()}\n`);
    return EXIT.badInput;
  }
  const command = await load();
  if (wantsHelp || args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(args);
  } catch (error) {
    // parseArgs reports unknown or malformed flags as TypeErrors with an ERR_PARSE_ARGS code.
    const parseError = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    const usage = error instanceof UsageError || parseError;
    const message = parseError ? flagMessage(error as Error, command.usage) : (error as Error).message;
    process.stderr.write(`flex-auth ${name}: ${message}\n${usage ? `\n${command.usage}\n` : ''}`);
    return EXIT.badInput;
  }
}

process.exitCode = await main(process.argv.slice(2));
