import type { CriticalOptions } from '../core/certificate.js';
import type { Decision } from '../core/types.js';
import type { Expectation } from './test-file.js';

/** How `flex-auth test` reports its results: text for people, JSON for tools, JUnit XML for CI. */

/** What a case got: the decision, or (against a server) why there is none. */
export type Actual = Decision | { readonly allow: false; readonly reason: string; readonly message: string };

export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  readonly expected: Expectation;
  readonly actual: Actual;
}

export interface FileResult {
  readonly file: string;
  /** `file:PATH` offline, the URL against a server. */
  readonly target: string;
  readonly cases: readonly CaseResult[];
}

/** `critical_options={...}` as JSON: a forced command may hold spaces and commas. */
function describeOptions(options: CriticalOptions): string {
  return `critical_options=${JSON.stringify(options)}`;
}

export function describeExpected(expected: Expectation): string {
  const grant = expected.grant;
  return [
    `allow=${expected.allow}`,
    ...(expected.reason ? [`reason=${expected.reason}`] : []),
    ...(grant?.ttl_seconds !== undefined ? [`ttl_seconds=${grant.ttl_seconds}`] : []),
    ...(grant?.principals ? [`principals=${grant.principals.join(',')}`] : []),
    ...(grant?.cert_type ? [`cert_type=${grant.cert_type}`] : []),
    ...(grant?.extensions ? [`extensions=${grant.extensions.join(',')}`] : []),
    ...(grant?.critical_options ? [describeOptions(grant.critical_options)] : []),
  ].join(' ');
}

export function describeActual(actual: Actual): string {
  const grant = 'grant' in actual ? actual.grant : undefined;
  return [
    `allow=${actual.allow}`,
    `reason=${actual.reason}`,
    ...(grant
      ? [`ttl_seconds=${grant.ttl_seconds}`, `principals=${grant.principals.join(',')}`, `cert_type=${grant.cert_type}`,
        `extensions=${grant.extensions.join(',')}`, describeOptions(grant.critical_options)]
      : []),
    ...('decision_id' in actual ? [actual.decision_id] : []),
    ...(actual.message ? [`(${actual.message})`] : []),
  ].join(' ');
}

export function textReport(results: readonly FileResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`${result.file} against ${result.target}`);
    for (const c of result.cases) {
      lines.push(`  ${c.passed ? 'ok  ' : 'FAIL'} ${c.name}${c.passed && 'decision_id' in c.actual ? ` (${c.actual.decision_id})` : ''}`);
      if (!c.passed) lines.push(`       expected: ${describeExpected(c.expected)}`, `       actual:   ${describeActual(c.actual)}`);
    }
  }
  const all = results.flatMap((r) => r.cases);
  const failed = all.filter((c) => !c.passed).length;
  lines.push(`${all.length - failed} passed, ${failed} failed`);
  return `${lines.join('\n')}\n`;
}

/** Characters XML 1.0 cannot carry at all, even escaped: dropped rather than break the report. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text safe in XML content: a carriage return is a reference, or a parser would turn it into a newline. */
export function xmlEscape(value: string): string {
  return value
    .replace(NOT_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#13;');
}

/** Text safe in an attribute: tabs and newlines too are references, or a parser would make them spaces. */
function xmlAttribute(value: string): string {
  return xmlEscape(value).replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

/**
 * The JUnit XML shape CI systems read (Jenkins, GitLab, GitHub test reporters): one
 * <testsuite> per test file, one <testcase> per case, a <failure> with expected and actual.
 */
export function junitReport(results: readonly FileResult[]): string {
  const all = results.flatMap((r) => r.cases);
  const failures = all.filter((c) => !c.passed).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="flex-auth test" tests="${all.length}" failures="${failures}" errors="0">`,
  ];
  for (const result of results) {
    const file = xmlAttribute(result.file);
    const failed = result.cases.filter((c) => !c.passed).length;
    lines.push(`  <testsuite name="${file}" tests="${result.cases.length}" failures="${failed}" errors="0" skipped="0">`);
    lines.push(`    <properties><property name="target" value="${xmlAttribute(result.target)}"/></properties>`);
    for (const c of result.cases) {
      const open = `    <testcase classname="${file}" name="${xmlAttribute(c.name)}"`;
      if (c.passed) {
        lines.push(`${open}/>`);
        continue;
      }
      const expected = describeExpected(c.expected);
      const actual = describeActual(c.actual);
      lines.push(
        `${open}>`,
        `      <failure message="${xmlAttribute(`expected ${expected}, got ${actual}`)}" type="decision_mismatch">${xmlEscape(`expected: ${expected}\nactual:   ${actual}`)}</failure>`,
        '    </testcase>',
      );
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
