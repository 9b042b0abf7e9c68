import { expect } from 'chai';
import fc from 'fast-check';
import { JsonTextError, parseJson } from '../../../src/core/strict-json.js';

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

  it('returns scalars as they are', () => {
    expect(parseJson('null')).to.equal(null);
    expect(parseJson(' "x" ')).to.equal('x');
  });
});
