/**
 * promtool on deploy/prometheus: the rules are valid (`promtool check rules`), their unit tests
 * pass (`promtool test rules`), and those tests can fail: for each alert, a copy of the rules in
 * which that alert can never fire, and one in which it always fires at once, must each make
 * every test case of that alert fail.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { makeTempDir, removeDir } from '../helpers/files.js';
import { RULES, RULES_TEST } from '../helpers/paths.js';
import { findTool, promtool } from '../helpers/prometheus.js';

type Doc = Record<string, any>;

interface Case {
  readonly group: string;
  readonly alertname: string;
  readonly evalTime: string;
  readonly expectsAlerts: boolean;
}

const rules = parseYaml(readFileSync(RULES, 'utf8')) as Doc;
const tests = parseYaml(readFileSync(RULES_TEST, 'utf8')) as Doc;
const alerts = (rules.groups as Doc[]).flatMap((g) => g.rules as Doc[]).filter((r) => r.alert);
const cases: Case[] = (tests.tests as Doc[]).flatMap((t) =>
  ((t.alert_rule_test ?? []) as Doc[]).map((c) => ({
    group: t.name as string,
    alertname: c.alertname as string,
    evalTime: c.eval_time as string,
    expectsAlerts: ((c.exp_alerts ?? []) as unknown[]).length > 0,
  })),
);

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** A Prometheus duration (`90m`, `1h30m`) in seconds, so that both spellings compare equal. */
function seconds(duration: string): number {
  const parts = [...duration.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  if (parts.map((p) => p[0]).join('') !== duration) throw new Error(`not a Prometheus duration: ${duration}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_SECONDS[p[2]!]!, 0);
}

const caseKey = (alertname: string, time: string): string => `${alertname} @ ${seconds(time)}s`;

/** The `alertname: X, time: T` pairs that promtool reports as failed. */
function failedCases(output: string): string[] {
  return [...output.matchAll(/alertname: (\w+), time: (\S+?),/g)].map((m) => caseKey(m[1]!, m[2]!));
}

describe('promtool on the alert rules (deploy/prometheus)', function () {
  let dir: string | undefined;

  before(async () => {
    findTool('promtool'); // fails the suite, with the install line, when promtool is missing
    dir = await makeTempDir('flex-auth-promtool-');
  });

  after(async () => {
    await removeDir(dir);
  });

  it('passes `promtool check rules`', () => {
    const result = promtool(['check', 'rules', RULES]);
    expect(result.status, `${result.stdout}${result.stderr}`).to.equal(0);
    expect(result.stdout).to.include(`SUCCESS: ${alerts.length} rules found`);
  });

  it('gives every alert a severity, a summary and a description', () => {
    expect(alerts.map((a) => a.alert)).to.have.length.greaterThanOrEqual(5);
    for (const alert of alerts) {
      expect(alert.labels?.severity, alert.alert).to.be.oneOf(['warning', 'critical']);
      expect(alert.annotations?.summary, alert.alert).to.be.a('string').and.not.be.empty;
      expect(alert.annotations?.description, alert.alert).to.be.a('string').and.not.be.empty;
    }
  });

  it('passes `promtool test rules`', () => {
    const result = promtool(['test', 'rules', RULES_TEST]);
    expect(result.status, `${result.stdout}${result.stderr}`).to.equal(0);
    expect(result.stdout).to.include('SUCCESS');
  });

  it('has unit tests for every alert: at least one where it fires and one where it must not', () => {
    for (const alert of alerts) {
      const own = cases.filter((c) => c.alertname === alert.alert);
      expect(own.filter((c) => c.expectsAlerts), `${alert.alert}: a case where it fires`).to.not.be.empty;
      expect(own.filter((c) => !c.expectsAlerts), `${alert.alert}: a case where it does not`).to.not.be.empty;
    }
    // And no test names an alert that does not exist.
    expect(cases.map((c) => c.alertname).filter((name) => !alerts.some((a) => a.alert === name))).to.deep.equal([]);
  });

  /** Runs the unit tests against a copy of the rules in which `alert` is rewritten by `mutate`. */
  function testsWith(alertName: string, mutate: (rule: Doc) => void): { status: number | null; failed: string[]; output: string } {
    const mutated = structuredClone(rules);
    for (const group of mutated.groups as Doc[]) for (const rule of group.rules as Doc[]) if (rule.alert === alertName) mutate(rule);
    writeFileSync(path.join(dir!, 'flex-auth-rules.yaml'), stringifyYaml(mutated));
    const testFile = path.join(dir!, 'flex-auth-rules.test.yaml');
    copyFileSync(RULES_TEST, testFile);
    const result = promtool(['test', 'rules', testFile]);
    const output = `${result.stdout}${result.stderr}`;
    return { status: result.status, failed: failedCases(output), output };
  }

  for (const alert of alerts) {
    const name = alert.alert as string;

    it(`${name}: the cases where it fires fail when it can never fire`, () => {
      const run = testsWith(name, (rule) => {
        rule.expr = 'vector(1) == 0';
      });
      expect(run.status, run.output).to.not.equal(0);
      const expected = cases.filter((c) => c.alertname === name && c.expectsAlerts).map((c) => caseKey(name, c.evalTime));
      expect(run.failed.sort(), run.output).to.deep.equal(expected.sort());
    });

    it(`${name}: every case fails when it always fires at once`, () => {
      const run = testsWith(name, (rule) => {
        // A label of its own, so that even an alert without labels of its own differs from every expected one.
        rule.expr = 'label_replace(vector(1), "mutant", "yes", "", "")';
        delete rule.for;
      });
      expect(run.status, run.output).to.not.equal(0);
      const expected = cases.filter((c) => c.alertname === name).map((c) => caseKey(name, c.evalTime));
      expect(run.failed.sort(), run.output).to.deep.equal(expected.sort());
    });
  }
});
