#!/usr/bin/env node
import { CHECK_USAGE, check } from './check.js';
import { CONFIGMAP_USAGE, configmap } from './configmap.js';
import { EXIT, UsageError } from './io.js';
import { SERVE_USAGE, serve } from './serve.js';
import { SMOKE_USAGE, smoke } from './smoke.js';
import { VALIDATE_USAGE, validate } from './validate.js';

const COMMANDS: Record<string, { run: (args: string[]) => Promise<number>; usage: string }> = {
  serve: { run: serve, usage: SERVE_USAGE },
  check: { run: check, usage: CHECK_USAGE },
  validate: { run: validate, usage: VALIDATE_USAGE },
  configmap: { run: configmap, usage: CONFIGMAP_USAGE },
  smoke: { run: smoke, usage: SMOKE_USAGE },
};

const USAGE = `flex-auth: policy decision point for SSH certificate signing

Commands:
${Object.values(COMMANDS).map((c) => `  ${c.usage.split('\n')[0]}`).join('\n')}

Run flex-auth COMMAND --help for more.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? EXIT.badInput : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`flex-auth: unknown command ${name}\n\n${USAGE}\n`);
    return EXIT.badInput;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(args);
  } catch (error) {
    // parseArgs reports unknown or malformed flags as TypeErrors with a code.
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`flex-auth ${name}: ${(error as Error).message}\n\n${command.usage}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(`flex-auth ${name}: ${(error as Error).message}\n`);
    return EXIT.badInput;
  }
}

process.exitCode = await main(process.argv.slice(2));
