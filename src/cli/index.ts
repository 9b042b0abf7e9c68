#!/usr/bin/env node
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
  configmap: {
    summary: 'configmap PATH [--name N] [--namespace NS] [--key K]',
    load: async () => { const m = await import('./configmap.js'); return { run: m.configmap, usage: m.CONFIGMAP_USAGE }; },
  },
  smoke: {
    summary: 'smoke --url URL [--actor NAME] [--subject ID]',
    load: async () => { const m = await import('./smoke.js'); return { run: m.smoke, usage: m.SMOKE_USAGE }; },
  },
};

const USAGE = `flex-auth: policy decision point for SSH certificate signing

Commands:
${Object.values(COMMANDS).map((c) => `  flex-auth ${c.summary}`).join('\n')}

Run flex-auth COMMAND --help for more.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? EXIT.badInput : EXIT.ok;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`flex-auth: unknown command ${name}\n\n${USAGE}\n`);
    return EXIT.badInput;
  }
  const command = await entry.load();
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(args);
  } catch (error) {
    // parseArgs reports unknown or malformed flags as TypeErrors with an ERR_PARSE_ARGS code.
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`flex-auth ${name}: ${(error as Error).message}\n${usage ? `\n${command.usage}\n` : ''}`);
    return EXIT.badInput;
  }
}

process.exitCode = await main(process.argv.slice(2));
