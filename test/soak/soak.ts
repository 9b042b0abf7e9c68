/**
 * `npm run soak [-- --seconds 60 --concurrency 16 --swap-ms 300]`: the reload-under-load
 * scenario for longer, printing its figures. Exits 1 if any invariant broke.
 */
import { parseArgs } from 'node:util';
import { invariantsHold, reloadUnderLoad } from '../helpers/reload-under-load.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '16' },
    'swap-ms': { type: 'string', default: '300' },
  },
});
const options = { durationMs: Number(values.seconds) * 1000, concurrency: Number(values.concurrency), swapIntervalMs: Number(values['swap-ms']) };
console.log(`soak: ${values.seconds} s, ${options.concurrency} concurrent callers, a registry replacement every ${options.swapIntervalMs} ms (1 in 3 invalid)`);
const f = await reloadUnderLoad(options);
const rows: [string, number | string | null][] = [
  ['requests sent', f.requests],
  ['answered (HTTP 200)', f.answered],
  ['errors (non-200 or transport)', f.failed],
  ['registry writes: valid', f.validWrites],
  ['registry writes: invalid', f.invalidWrites],
  ['reloads logged', f.reloadsLogged],
  ['reload failures logged', f.failuresLogged],
  ['revisions seen in answers', f.revisionsSeen],
  ['answers with an unexpected revision', f.unexpectedRevisions],
  ['decision log lines', f.decisionLines],
  ['answered checks without a log line', f.missingLines],
  ['request ids logged twice', f.duplicateLines],
  ['exit code after SIGTERM', f.exitCode],
];
for (const [name, value] of rows) console.log(`  ${name.padEnd(38)} ${value}`);
for (const failure of f.failures) console.log(`  ! ${failure}`);
const ok = invariantsHold(f);
console.log(ok ? 'soak: every invariant held' : 'soak: INVARIANTS BROKEN');
process.exitCode = ok ? 0 : 1;
