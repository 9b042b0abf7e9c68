import { expect } from 'chai';
import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { junitReport } from '../../../src/cli/test-report.js';
import type { FileResult } from '../../../src/cli/test-report.js';

/** What XML 1.0 can carry; anything else is dropped from the report. */
const xmlChars = (value: string) => [...value].filter((c) => /[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(c)).join('');

describe('JUnit report', () => {
  const parser = new XMLParser({
    ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, trimValues: false, htmlEntities: true,
    isArray: (name) => ['testsuite', 'testcase'].includes(name),
  });

  it('is well-formed XML that gives back every name and message, whatever characters they hold', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), (name, message, file) => {
      const result: FileResult = {
        file, target: 'file:registry.json',
        cases: [{ name, passed: false, expected: { allow: true }, actual: { allow: false, reason: 'http_error', message } }],
      };
      const xml = junitReport([result]);
      expect(XMLValidator.validate(xml), xml).to.equal(true);
      const testcase = parser.parse(xml).testsuites.testsuite[0].testcase[0];
      expect(testcase.name).to.equal(xmlChars(name));
      expect(testcase.classname).to.equal(xmlChars(file));
      if (message !== '') expect(testcase.failure['#text']).to.include(`(${xmlChars(message)})`);
    }), { numRuns: 300 });
  });
});
