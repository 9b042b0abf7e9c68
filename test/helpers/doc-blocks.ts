/**
 * Reads the fenced blocks of a Markdown document and compares a command's output with the
 * output the document shows. The convention (what test/integration/docs-commands.test.ts runs):
 *
 * - A block tagged `sh`, `bash`, `shell` or `console` holds commands. In `console` blocks a
 *   command starts with `$ ` and the lines up to the next `$ ` are its output; `# exits N` at
 *   the end of a command line says which exit code to expect (default 0).
 * - A block of any other tag directly after an `sh` block (blank lines between at most) is the
 *   output of that whole block.
 * - `…` in shown output stands for any text (a line of only `…` for any number of lines); in a
 *   JSON string it stands for any characters (`"sha256:9d0f…"`). JSON is compared as JSON:
 *   same keys, same array lengths, same values.
 * - `<!-- docs-test: skip (REASON) -->` on the line before a block: not run, for the reason given.
 * - `<!-- docs-test: file NAME -->` on the line before a block: the block is written to NAME in
 *   the directory the commands run in, before any of them runs.
 */

export const COMMAND_LANGS = new Set(['sh', 'bash', 'shell', 'console']);

export interface DocBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly text: string;
  /** The reason of a `docs-test: skip` marker, if any. */
  readonly skip?: string;
  /** The name of a `docs-test: file` marker, if any. */
  readonly file?: string;
  /** The block right after this one, when only blank lines separate them. */
  next?: DocBlock;
}

const FENCE = /^(\s*)```(\S*)\s*$/;
const MARKER = /^\s*<!--\s*docs-test:\s*(skip|file)\s*(.*?)\s*-->\s*$/;

export function parseBlocks(markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  let lastEnd = -2;
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(Math.min(indent, lines[j]!.search(/\S|$/))));
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const marker = before >= 0 ? MARKER.exec(lines[before]!) : null;
    const block: DocBlock = {
      line: i + 1,
      lang: open[2]!,
      text: body.join('\n'),
      ...(marker?.[1] === 'skip' ? { skip: marker[2]!.replace(/^\((.*)\)$/, '$1') || 'no reason given' } : {}),
      ...(marker?.[1] === 'file' ? { file: marker[2]! } : {}),
    };
    const previous = blocks.at(-1);
    if (previous && lines.slice(lastEnd + 1, i).every((l) => l.trim() === '')) previous.next = block;
    blocks.push(block);
    lastEnd = j;
    i = j;
  }
  return blocks;
}

export interface ConsoleStep {
  readonly command: string;
  readonly expectedOutput: string;
  readonly exitCode: number;
}

/** The `$ ` commands of a console block, each with the output shown under it. */
export function consoleSteps(text: string): ConsoleStep[] {
  const steps: { command: string; output: string[] }[] = [];
  let continuing = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('$ ') || (continuing && steps.length > 0)) {
      const part: string = line.startsWith('$ ') && !continuing ? line.slice(2) : line;
      if (!continuing) steps.push({ command: part, output: [] });
      else steps.at(-1)!.command += `\n${part}`;
      continuing = part.endsWith('\\');
    } else if (steps.length > 0) {
      steps.at(-1)!.output.push(line);
    }
  }
  return steps.map(({ command, output }) => ({
    command,
    expectedOutput: output.join('\n'),
    exitCode: Number(/#\s*exits?\s+(\d+)\s*$/.exec(command)?.[1] ?? 0),
  }));
}

/** The commands of a shell script, one per logical line (continuations joined), comments dropped. */
export function shellCommands(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * The programs a command line runs: the first word of each pipeline stage or list item, after
 * any `NAME=value` assignments (so `FLEX_AUTH_URL=x` alone runs nothing). Quotes are respected.
 */
export function programsOf(command: string): string[] {
  const stages: string[] = [];
  let current = '';
  let quote: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = null;
      current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      current += c;
    } else if (c === '#' && /\s/.test(command[i - 1] ?? ' ')) {
      break;
    } else if (c === '|' || c === ';' || c === '&') {
      stages.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  stages.push(current);
  return stages.flatMap((stage) => {
    const words = stage.trim().split(/\s+/).filter((w) => w !== '');
    const program = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    return program === undefined ? [] : [program];
  });
}

/** A synopsis (`flex-auth check --registry PATH [--explain]`): optional parts in brackets outside quotes. */
export function isSynopsis(command: string): boolean {
  return /\s\[/.test(command.replace(/'[^']*'|"[^"]*"/g, "''"));
}

// ---------------------------------------------------------------------------------------------
// Comparing output.

const ELLIPSIS = '…';

function wildcardRegExp(expected: string): RegExp {
  const escaped = expected.split(ELLIPSIS).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[\\s\\S]*')}$`);
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The first difference between JSON the doc shows and JSON that ran, or undefined. */
export function jsonMismatch(expected: unknown, actual: unknown, path = '$'): string | undefined {
  if (typeof expected === 'string' && expected.includes(ELLIPSIS)) {
    return typeof actual === 'string' && wildcardRegExp(expected).test(actual)
      ? undefined
      : `${path}: the doc shows ${shortJson(expected)}, the run gave ${shortJson(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: the doc shows an array, the run gave ${shortJson(actual)}`;
    if (expected.length !== actual.length) return `${path}: the doc shows ${expected.length} items, the run gave ${actual.length}: ${shortJson(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const found = jsonMismatch(expected[i], actual[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return `${path}: the doc shows an object, the run gave ${shortJson(actual)}`;
    const shown = Object.keys(expected);
    const got = Object.keys(actual);
    const missing = got.filter((k) => !shown.includes(k));
    const extra = shown.filter((k) => !got.includes(k));
    if (missing.length || extra.length) {
      return `${path}: keys differ: ${[...extra.map((k) => `the doc shows "${k}" that the run does not`), ...missing.map((k) => `the run gives "${k}" that the doc does not show`)].join('; ')}`;
    }
    for (const key of shown) {
      const found = jsonMismatch((expected as Record<string, unknown>)[key], (actual as Record<string, unknown>)[key], `${path}.${key}`);
      if (found) return found;
    }
    return undefined;
  }
  return expected === actual ? undefined : `${path}: the doc shows ${shortJson(expected)}, the run gave ${shortJson(actual)}`;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function trimLines(text: string): string[] {
  const lines = text.split('\n').map((l) => l.trimEnd());
  while (lines.length && lines.at(-1) === '') lines.pop();
  while (lines.length && lines[0] === '') lines.shift();
  return lines;
}

/** Line by line; a line of only `…` matches any number of lines. Returns the first expected line index that fails. */
function matchLines(expected: string[], actual: string[], e = 0, a = 0): number | undefined {
  if (e === expected.length) return a === actual.length ? undefined : e;
  if (expected[e] === ELLIPSIS) {
    for (let skip = a; skip <= actual.length; skip++) {
      if (matchLines(expected, actual, e + 1, skip) === undefined) return undefined;
    }
    return e;
  }
  if (a < actual.length && wildcardRegExp(expected[e]!).test(actual[a]!)) return matchLines(expected, actual, e + 1, a + 1);
  return e;
}

/**
 * Compares what ran with what the doc shows: as JSON when the doc shows JSON, else as text.
 * Returns a description of the first difference, or undefined when they agree.
 */
export function outputMismatch(expected: string, actual: string): string | undefined {
  const shown = parseJson(expected);
  if (shown.ok && typeof shown.value === 'object' && shown.value !== null) {
    const got = parseJson(actual);
    if (!got.ok) return `the doc shows JSON, the run printed:\n${actual.slice(0, 1500)}`;
    return jsonMismatch(shown.value, got.value);
  }
  const expectedLines = trimLines(expected);
  const actualLines = trimLines(actual);
  const failed = matchLines(expectedLines, actualLines);
  if (failed === undefined) return undefined;
  return `output line ${failed + 1} differs: the doc shows\n  ${expectedLines[failed] ?? '(no more lines)'}\nthe run printed:\n${actualLines.map((l) => `  ${l}`).join('\n').slice(0, 2000)}`;
}
