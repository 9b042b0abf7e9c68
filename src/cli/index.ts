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
 * needs (the HTTP stack, and the Kubernetes client for the ConfigMap source).
 */
const COMMANDS: Record<string, { readonly summary: string; readonly load: () => Promise<Command> }> = {
  serve: {
    summary: 'serve [--host H] [--port P] [--registry-file PATH | --registry-configmap NS/NAME]',
    load: async () => { const m = await import('./serve.js'); return { run: m.serve, usage: m.SERVE_USAGE }; },
  },
  check: {
    summary: 'check --registry PATH [REQUEST.json | -] [--explain]',
    load: async () => { const m = await import('./check.js'); return { run: m.check, usage: m.CHECK_USAGE }; },
  },
  validate: {
    summary: 'validate PATH...',
    load: async () => { const m = await import('./validate.js'); return { run: m.validate, usage: m.VALIDATE_USAGE }; },
  },
  test: {
    summary: 'test FILE... [--registry PATH | --url URL] [--token-file PATH] [--format text|json|junit]',
    load: async () => { const m = await import('./test.js'); return { run: m.test, usage: m.TEST_USAGE }; },
  },
  diff: {
    summary: 'diff OLD NEW [--format text|json]',
    load: async () => { const m = await import('./diff.js'); return { run: m.diff, usage: m.DIFF_USAGE }; },
  },
  configmap: {
    summary: 'configmap PATH [--name N] [--namespace NS] [--key K] [--prune-selector | --unpack]',
    load: async () => { const m = await import('./configmap.js'); return { run: m.configmap, usage: m.CONFIGMAP_USAGE }; },
  },
  audit: {
    summary: 'audit verify [--key-file PATH] [--format text|json] FILE... | -',
    load: async () => { const m = await import('./audit.js'); return { run: m.audit, usage: m.AUDIT_USAGE }; },
  },
  status: {
    summary: 'status [--namespace flex-auth] [--name flex-auth-registry] [--wait DURATION]',
    load: async () => { const m = await import('./status.js'); return { run: m.status, usage: m.STATUS_USAGE }; },
  },
  smoke: {
    summary: 'smoke --url URL [--actor NAME] [--subject ID] [--timeout-ms MS] [--token-file PATH] [--expect-revision REV] [--expect-deny ACTOR[:REASON]]...',
    load: async () => { const m = await import('./smoke.js'); return { run: m.smoke, usage: m.SMOKE_USAGE }; },
  },
};

const USAGE = `flex-auth: policy decision point for SSH certificate signing

Commands:
${Object.values(COMMANDS).map((c) => `  flex-auth ${c.summary}`).join('\n')}

Run flex-auth help COMMAND (or flex-auth COMMAND --help) for more; flex-auth --version.`;

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
  const wantsHelp = name === 'help' && args.length > 0;
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && !wantsHelp)) {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? EXIT.badInput : EXIT.ok;
  }
  const commandName = wantsHelp ? args[0]! : name;
  const entry = COMMANDS[commandName];
  if (!entry) {
    const meant = closest(commandName, Object.keys(COMMANDS));
    process.stderr.write(`flex-auth: unknown command ${commandName}${meant ? ` (did you mean ${meant}?)` : ''}\n\n${USAGE}\n`);
    return EXIT.badInput;
  }
  const command = await entry.load();
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
