import { expect } from 'chai';
import fc from 'fast-check';
import { createHash, createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DecisionLog, millisText } from '../../../src/http/decision-log.js';
import type { DecisionRecord } from '../../../src/http/decision-log.js';
import { createLogger } from '../../../src/logger.js';
import { pollUntil } from '../../helpers/poll.js';
import { anyGrant, decisionIdText, reasonText, requestIdText, revisionText, v1Grant } from '../../helpers/grants.js';
import type { Logger } from '../../../src/logger.js';

/**
 * The line as pino's own serializer writes it: the reference the hand-built line must match.
 * `audit` is the chain's fields, which depend on the log's state, not on the record.
 */
function referenceLine(logger: Logger, { requestId, request, decision, durationMs, caller }: DecisionRecord, audit: { seq: number; log_id: string; chain: string }): void {
  const metadata = request.context.metadata;
  logger.info({
    decision_id: decision.decision_id ?? null,
    request_id: requestId,
    allow: decision.allow,
    reason: decision.reason,
    subject: request.subject.id,
    action: request.action,
    resource: request.resource,
    registry_revision: decision.registry_revision ?? null,
    policy: decision.policy ?? null,
    duration_ms: Math.round(durationMs * 1000) / 1000,
    ...(metadata ? { metadata_keys: Object.keys(metadata).slice(0, 32).map((key) => key.slice(0, 64)) } : {}),
    caller,
    ...(decision.allow && decision.grant ? { grant: decision.grant } : {}),
    ...audit,
  }, 'decision');
}

function capture(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level, destination: { write: (line: string) => lines.push(line) } }), lines };
}

/** Key order included; `time` differs between any two lines, so it is only checked for shape. */
function withoutTime(line: string): string {
  const parsed = JSON.parse(line) as Record<string, unknown>;
  expect(parsed.time).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  delete parsed.time;
  return JSON.stringify(parsed);
}

// Plain ASCII (the fast path), and strings with quotes, escapes, controls and beyond ASCII.
const tricky = fc.constantFrom('a', 'Z', '0', ' ', '~', '"', '\\', '/', '\u0000', '\n', '\u001f', '\u007f', 'é', '\u2028', '\ud800', '😀');
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: tricky, maxLength: 40 }), fc.string({ maxLength: 40 }));
// Any text where the line quotes what it writes; ids, reasons and revisions of their forms, which it writes unescaped.
const record: fc.Arbitrary<DecisionRecord> = fc.record({
  requestId: requestIdText,
  request: fc.record({
    subject: fc.record({ id: text }),
    action: text,
    resource: fc.record({ type: text, id: text }),
    // Few keys, or around the 32 the line keeps; some keys past the 64 characters it keeps.
    context: fc.record({
      metadata: fc.oneof(
        fc.dictionary(fc.string({ unit: 'binary', maxLength: 100 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
        fc.dictionary(fc.string({ unit: 'binary', minLength: 60, maxLength: 70 }), fc.constant(1), { minKeys: 30, maxKeys: 36 }),
      ),
    }, { requiredKeys: [] }),
  }),
  decision: fc.record({
    allow: fc.boolean(),
    reason: reasonText,
    decision_id: decisionIdText,
    registry_revision: revisionText,
    policy: fc.constant('ssh-sign/v1'),
    grant: anyGrant(text),
  }, { requiredKeys: ['allow', 'reason'] }),
  durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
  caller: text,
});

const RECORD: DecisionRecord = {
  requestId: 'r-1', durationMs: 0.25, caller: 'token:0123abcd',
  request: { subject: { id: 'iam:alice' }, action: 'sign', resource: { type: 'ssh_actor', id: 'agt-a' }, context: {} },
  decision: { allow: true, reason: 'allowed', decision_id: 'decision:0123456789abcdef', registry_revision: 'sha256:00', policy: 'ssh-sign/v1' },
};

/** Appends and waits for the line's commit; resolves with what `then` was told. */
async function logged(log: DecisionLog, record: DecisionRecord): Promise<boolean> {
  let told: boolean | undefined;
  log.append(record, (ok) => { told = ok; });
  while (told === undefined) await nextTurn();
  return told;
}

describe('millisText', () => {
  const reference = (ms: number) => String(Math.round(ms * 1000) / 1000);

  it('writes a duration as the number Math.round(ms * 1000) / 1000 prints, whatever the double', () => {
    fc.assert(fc.property(fc.oneof(fc.double(), fc.double({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 10_000_000 }).map((us) => us / 1000)), (ms) => {
      expect(millisText(ms)).to.equal(reference(ms));
    }), { numRuns: 2000 });
  });

  it('agrees on the edges: zeros, halves, trailing zeros, the switch to plain String, non-finite values', () => {
    for (const ms of [0, -0, 0.0004, 0.0005, 0.0015, 0.1, 0.12, 0.125, 1, 10, 100.5, 1234.5678, 999999.9995, 1e12 - 0.001, 1e12, 1e15 + 0.3, 1e21, 1e-7, -0.25, NaN, Infinity, -Infinity]) {
      expect(millisText(ms), String(ms)).to.equal(reference(ms));
    }
  });
});

describe('the decision log', () => {
  it('writes the line pino writes for the same fields, whatever the caller\'s strings hold', async () => {
    await fc.assert(fc.asyncProperty(record, async (input) => {
      const ours = capture();
      const reference = capture();
      const log = new DecisionLog(ours.logger);
      expect(await logged(log, input)).to.equal(true);
      const chain = (JSON.parse(ours.lines[0]!) as { chain: string }).chain;
      referenceLine(reference.logger, input, { seq: 1, log_id: log.logId, chain });
      expect(ours.lines).to.have.length(1);
      expect(ours.lines[0]!.endsWith('}\n')).to.equal(true);
      expect(withoutTime(ours.lines[0]!)).to.equal(withoutTime(reference.lines[0]!));
    }), { numRuns: 1000 });
  });

  it('carries the logger\'s bindings, as pino would', async () => {
    const { logger, lines } = capture();
    await logged(new DecisionLog(logger.child({ component: 'check' })), RECORD);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(line).slice(0, 5)).to.deep.equal(['level', 'time', 'pid', 'hostname', 'component']);
    expect(line).to.include({ level: 'info', component: 'check', msg: 'decision', request_id: 'r-1', duration_ms: 0.25 });
    expect(line).to.not.have.property('metadata_keys');
  });

  it('writes the lines of one turn in one write, and lets each reply go only after it', async () => {
    const events: string[] = [];
    const logger = createLogger({ destination: { write: (text: string) => events.push(`write ${text.split('\n').length - 1} lines`) } });
    const log = new DecisionLog(logger);
    for (const id of ['a', 'b', 'c']) log.append({ ...RECORD, requestId: id }, (ok) => events.push(`reply ${id} ${ok}`));
    expect(events).to.deep.equal([]);
    await nextTurn();
    expect(events).to.deep.equal(['write 3 lines', 'reply a true', 'reply b true', 'reply c true']);
    log.append(RECORD, (ok) => events.push(`reply d ${ok}`));
    await nextTurn();
    expect(events.slice(4)).to.deep.equal(['write 1 lines', 'reply d true']);
  });

  it('writes as soon as a group is full, so the first checks of a busy turn do not wait for the rest', async () => {
    const events: string[] = [];
    const logger = createLogger({ destination: { write: (text: string) => events.push(`write ${text.split('\n').length - 1} lines`) } });
    const log = new DecisionLog(logger);
    const size = DecisionLog.GROUP_SIZE;
    for (let i = 1; i <= size + 2; i++) log.append({ ...RECORD, requestId: `r${i}` }, (ok) => events.push(`reply r${i} ${ok}`));
    const firstGroup = [`write ${size} lines`, ...Array.from({ length: size }, (_, i) => `reply r${i + 1} true`)];
    expect(events).to.deep.equal(firstGroup);
    await nextTurn();
    expect(events).to.deep.equal([...firstGroup, 'write 2 lines', `reply r${size + 1} true`, `reply r${size + 2} true`]);
  });

  it('tells every waiting reply when the write fails, so none is answered as if logged', async () => {
    const logger = createLogger({ destination: { write: () => { throw new Error('EPIPE'); } } });
    const log = new DecisionLog(logger);
    const told: boolean[] = [];
    log.append(RECORD, (ok) => told.push(ok));
    log.append(RECORD, (ok) => told.push(ok));
    await nextTurn();
    expect(told).to.deep.equal([false, false]);
  });

  it('answers every waiting check even if one of their callbacks throws, then reports that error', () => {
    let commit: (() => void) | undefined;
    const log = new DecisionLog(capture().logger, (run) => { commit = run; });
    const told: string[] = [];
    log.append(RECORD, () => { told.push('a'); throw new Error('callback a failed'); });
    log.append(RECORD, () => told.push('b'));
    expect(commit).to.be.a('function');
    expect(() => commit!()).to.throw('callback a failed');
    expect(told).to.deep.equal(['a', 'b']);
  });

  for (const level of ['warn', 'error', 'fatal', 'silent']) {
    it(`writes the line at level info even when the logger's level is ${level}: the level governs operational lines only`, async () => {
      const { logger, lines } = capture(level);
      logger.info('an operational line the level holds back');
      expect(await logged(new DecisionLog(logger), RECORD)).to.equal(true);
      expect(lines).to.have.length(1);
      expect(JSON.parse(lines[0]!)).to.include({ level: 'info', msg: 'decision', request_id: RECORD.requestId });
    });
  }

  it('answers false for every line once the destination reports an error, as pino\'s stdout does on EPIPE', async () => {
    const destination = Object.assign(new EventEmitter(), { write: (_text: string) => true });
    const log = new DecisionLog(createLogger({ destination }));
    expect(await logged(log, RECORD)).to.equal(true);
    // What pino's stdout stream does on EPIPE: an error event, then every write a silent no-op.
    destination.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(await logged(log, RECORD)).to.equal(false);
    expect(await logged(log, RECORD)).to.equal(false);
  });

  describe('as evidence (contract section 15)', () => {
    /** docs/security.md's construction, written again here: the line without its chain member. */
    function contentOf(line: string): string {
      return line.replace(/\n$/, '').replace(/,"chain":"[0-9a-f]{64}"(?=,"msg":"decision"\}$)/, '');
    }

    const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
    const hmac = (key: string, text: string) => createHmac('sha256', key).update(text).digest('hex');

    it('numbers the lines from 1 and chains each to the one before, as docs/security.md defines it', async () => {
      await fc.assert(fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 12 }), async (records) => {
        const { logger, lines } = capture();
        const log = new DecisionLog(logger);
        for (const input of records) log.append(input, () => {});
        await nextTurn();
        await nextTurn();
        let previous = '0'.repeat(64);
        lines.join('').split('\n').slice(0, -1).forEach((line, index) => {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          expect(parsed).to.include({ seq: index + 1, log_id: log.logId, msg: 'decision' });
          expect(parsed.chain).to.equal(sha256(previous + contentOf(line)));
          expect(contentOf(line)).to.not.include('"chain"');
          previous = parsed.chain as string;
        });
      }), { numRuns: 200 });
    });

    it('gives every log its own random log_id', () => {
      const { logger } = capture();
      const ids = new Set(Array.from({ length: 20 }, () => new DecisionLog(logger).logId));
      expect(ids.size).to.equal(20);
      for (const id of ids) expect(id).to.match(/^[0-9a-f]{32}$/);
    });

    it('is one log per logger for every lane that asks for it', () => {
      const { logger } = capture();
      expect(DecisionLog.for(logger)).to.equal(DecisionLog.for(logger));
      expect(DecisionLog.for(logger)).to.not.equal(DecisionLog.for(capture().logger));
    });

    it('logs the caller, and the grant on allow only', async () => {
      const { logger, lines } = capture();
      const log = new DecisionLog(logger);
      const grant = v1Grant(3600, ['atm-ops']);
      await logged(log, { ...RECORD, decision: { ...RECORD.decision, grant } });
      await logged(log, { ...RECORD, caller: 'anonymous', decision: { ...RECORD.decision, allow: false, reason: 'ttl_out_of_bounds', grant } });
      const [allowed, denied] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(allowed).to.deep.include({ caller: 'token:0123abcd', grant });
      expect(denied).to.include({ caller: 'anonymous' });
      expect(denied).to.not.have.property('grant');
    });

    function checkpointsOf(lines: string[]): Record<string, unknown>[] {
      return lines.join('').split('\n').slice(0, -1).map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'checkpoint');
    }

    it('writes a keyed checkpoint right after every Nth decision line, in the same write', async () => {
      const writes: string[] = [];
      const log = new DecisionLog(createLogger({ destination: { write: (text: string) => writes.push(text) } }));
      const key = 'k'.repeat(32);
      log.startCheckpoints({ key: () => Buffer.from(key), everyDecisions: 3, everyMs: 3_600_000 });
      for (let i = 0; i < 7; i++) log.append(RECORD, () => {});
      await nextTurn();
      log.close();
      const parsed = writes.join('').split('\n').slice(0, -1).map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(parsed.map((line) => (line.msg === 'checkpoint' ? `cp${line.seq as number}` : line.seq))).to.deep.equal([1, 2, 3, 'cp3', 4, 5, 6, 'cp6', 7, 'cp7']);
      for (const [index, line] of parsed.entries()) {
        if (line.msg !== 'checkpoint') continue;
        const sealed = parsed[index - 1]!;
        expect(line).to.include({ level: 'info', log_id: log.logId, seq: sealed.seq, chain: sealed.chain });
        expect(line.mac).to.equal(hmac(key, `flex-auth.checkpoint/v1\n${log.logId}\n${line.seq as number}\n${line.chain as string}`));
      }
      expect(JSON.stringify(parsed)).to.not.include(key);
    });

    it('seals at close only what is not sealed yet, and writes nothing without a key', async () => {
      const keyed = capture();
      const log = new DecisionLog(keyed.logger);
      log.startCheckpoints({ key: () => Buffer.from('k'.repeat(32)), everyDecisions: 2, everyMs: 3_600_000 });
      await logged(log, RECORD);
      await logged(log, RECORD);
      log.close();
      log.close();
      expect(checkpointsOf(keyed.lines).map((line) => line.seq)).to.deep.equal([2]);
      const plain = capture();
      const unkeyed = new DecisionLog(plain.logger);
      await logged(unkeyed, RECORD);
      unkeyed.close();
      expect(checkpointsOf(plain.lines)).to.deep.equal([]);
    });

    it('writes a checkpoint on the timer when there were decisions since the last, with the key of that moment', async () => {
      const { logger, lines } = capture();
      const log = new DecisionLog(logger);
      let key = 'first-key-0123456789';
      log.startCheckpoints({ key: () => Buffer.from(key), everyDecisions: 1000, everyMs: 5 });
      try {
        await logged(log, RECORD);
        await pollUntil(async () => checkpointsOf(lines), (found) => found.length === 1, 'a timed checkpoint', { timeoutMs: 5000, intervalMs: 5 });
        key = 'second-key-0123456789';
        await logged(log, RECORD);
        const both = await pollUntil(async () => checkpointsOf(lines), (found) => found.length === 2, 'a second timed checkpoint', { timeoutMs: 5000, intervalMs: 5 });
        expect(both.map((line) => line.mac)).to.deep.equal([
          hmac('first-key-0123456789', `flex-auth.checkpoint/v1\n${log.logId}\n1\n${both[0]!.chain as string}`),
          hmac('second-key-0123456789', `flex-auth.checkpoint/v1\n${log.logId}\n2\n${both[1]!.chain as string}`),
        ]);
        // No decisions since: what the timer runs writes nothing more.
        log.checkpoint();
        expect(checkpointsOf(lines)).to.have.length(2);
      } finally {
        log.close();
      }
    });
  });
});

