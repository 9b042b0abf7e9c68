import { expect } from 'chai';
import fc from 'fast-check';
import { JsonTextError, memberNameCount, ownKeyCount, parseJson } from '../../../src/core/strict-json.js';

function failure(text: string): { path: string; line: number; column: number; message: string } {
  try {
    parseJson(text);
  } catch (error) {
    expect(error).to.be.instanceOf(JsonTextError);
    const { path, line, column, message } = error as JsonTextError;
    return { path, line, column, message };
  }
  expect.fail(`accepted ${text}`);
}

describe('strict JSON', () => {
  it('parses what JSON.parse parses, when no object repeats a key', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const text = JSON.stringify(value);
      expect(parseJson(text)).to.deep.equal(JSON.parse(text));
    }), { numRuns: 300 });
  });

  it('refuses any object that repeats a key, wherever it is', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.string(), fc.jsonValue(), fc.jsonValue(), (outer, key, first, second) => {
      const duplicated = `{${JSON.stringify(key)}:${JSON.stringify(first)},${JSON.stringify(key)}:${JSON.stringify(second)}}`;
      const text = `[${JSON.stringify(outer)},${duplicated}]`;
      expect(() => parseJson(text)).to.throw(JsonTextError, /^duplicate key/);
    }), { numRuns: 300 });
  });

  it('names a duplicate key by its JSON path, line and column', () => {
    expect(failure('{"actors":[{"name":"a"},\n  {"name":"b", "disabled":false, "disabled":true}]}')).to.deep.equal({
      path: 'actors[1].disabled', line: 2, column: 34, message: 'duplicate key at line 2, column 34',
    });
    expect(failure('{"a b":{"x":1,"x":2}}').path).to.equal('["a b"].x');
    expect(failure('{"a":1,"a":2}').path).to.equal('a');
  });

  it('compares keys as JSON reads them: an escaped spelling is the same key', () => {
    expect(failure('{"ab":1,"a\\u0062":2}').path).to.equal('ab');
    // A key ending in a backslash: its closing quote is not escaped.
    expect(failure('{"k\\\\":1,"k\\\\":2}').path).to.equal('["k\\\\"]');
  });

  it('keeps the same key in different objects, and quotes and brackets inside strings, apart', () => {
    expect(parseJson('[{"a":1},{"a":2},{"b":{"a":3}}]')).to.deep.equal([{ a: 1 }, { a: 2 }, { b: { a: 3 } }]);
    expect(parseJson('{"a":"x\\"}{,\\\\","b":"[\\\\"}')).to.deep.equal({ a: 'x"}{,\\', b: '[\\' });
    expect(parseJson('{"a":[1,{"k":1}],"k":2}')).to.deep.equal({ a: [1, { k: 1 }], k: 2 });
  });

  it('gives line and column for bad syntax, at the root path', () => {
    expect(failure('{\n  "schema": \n}')).to.include({ path: '(root)', line: 3, column: 1 });
    expect(failure('{"a": tru}')).to.include({ line: 1, column: 10 });
    expect(failure('[1,2')).to.include({ line: 1, column: 5 });
    expect(failure('')).to.include({ line: 1, column: 1 });
    expect(failure('{"a":1}\n\n x')).to.include({ line: 3, column: 2 });
    expect(failure('{"a":}').message).to.equal("Unexpected token '}' at line 1, column 6");
    // A long text is quoted cut short (`..."...`): the quote goes all the same.
    expect(failure(`{"padding":"${'x'.repeat(100)}", "a": ,}`).message).to.equal("Unexpected token ',' at line 1, column 121");
  });

  it('reads member names across whitespace, and strings that look like them as values', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.constantFrom(0, 1, '\t', ' \r\n '), (value, indent) => {
      const text = JSON.stringify(value, null, indent);
      expect(parseJson(text)).to.deep.equal(JSON.parse(text));
      const duplicated = `{ "k" :\n${text} ,\t"k"\r\n: 1 }`;
      expect(() => parseJson(duplicated)).to.throw(JsonTextError, /^duplicate key/);
    }), { numRuns: 200 });
    // Text: {"a":"b\\\":","c" :"d\":"} (a backslash and an escaped quote before a colon, inside values).
    expect(parseJson('{"a":"b\\\\\\":","c" :"d\\":"}')).to.deep.equal({ a: 'b\\":', c: 'd":' });
  });

  it('counts the member names of a text and the keys of its value alike (the check that needs no scan)', () => {
    /** Keys at every level, counted the plain way. */
    const keys = (value: unknown): number => {
      if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + keys(item), 0);
      if (typeof value !== 'object' || value === null) return 0;
      return Object.entries(value).reduce((sum, [, item]) => sum + 1 + keys(item), 0);
    };
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom(0, 2, '\t'), (value, indent) => {
      const text = JSON.stringify(value, null, indent);
      expect(memberNameCount(text)).to.equal(keys(value));
      expect(ownKeyCount(JSON.parse(text))).to.equal(keys(value));
    }), { numRuns: 300 });
    expect(memberNameCount('{"a" \r\n\t :"\\\\",  "b":["c", "d" ]}')).to.equal(2);
    expect(memberNameCount('{"a":"never closed}')).to.be.NaN;
    expect(ownKeyCount(JSON.parse(`${'['.repeat(64)}{"a":1}${']'.repeat(64)}`))).to.equal(1);
    expect(ownKeyCount(JSON.parse(`${'['.repeat(65)}{"a":1}${']'.repeat(65)}`))).to.be.NaN;
  });

  it('counts __proto__ as the key JSON.parse makes of it', () => {
    expect(Object.keys(parseJson('{"__proto__":{"x":1},"y":2}') as object)).to.deep.equal(['__proto__', 'y']);
    expect(failure('{"__proto__":1,"__proto__":2}').path).to.equal('__proto__');
  });

  it('finds a duplicate at any depth, deeper than the counted depth too', () => {
    for (const depth of [1, 63, 64, 65, 200, 5000]) {
      const open = '[{"a":'.repeat(depth);
      const close = '}]'.repeat(depth);
      expect(parseJson(`${open}1${close}`), `depth ${depth}`).to.be.an('array');
      expect(failure(`${open}{"x":1,"x":2}${close}`).message, `depth ${depth}`).to.match(/^duplicate key/);
    }
  });

  it('is not fooled by an enumerable property on Object.prototype', () => {
    Object.defineProperty(Object.prototype, 'polluted', { value: 1, enumerable: true, configurable: true, writable: true });
    try {
      expect(parseJson('{"a":{"b":1}}')).to.deep.equal({ a: { b: 1 } });
      expect(failure('{"a":{"b":1,"b":2}}').path).to.equal('a.b');
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });

  it('returns scalars as they are', () => {
    expect(parseJson('null')).to.equal(null);
    expect(parseJson(' "x" ')).to.equal('x');
  });
});
