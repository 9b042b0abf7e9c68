import { expect } from 'chai';
import { JsonTextError, parseJson } from '../../../src/core/strict-json.js';
import { thrown } from '../../helpers/thrown.js';

const failure = (text: string) => thrown(JsonTextError, () => parseJson(text));

/** JSON.parse's complaint without its offset, and the line and column worked out from it. */
describe('strict JSON, where and what the syntax error is', () => {
  it('is a JsonTextError by name', () => {
    expect(failure('{').name).to.equal('JsonTextError');
  });

  it('places a bad character that is itself a line break on the line it ends', () => {
    const error = failure('"ab\ncd"');
    expect(error.message).to.equal('Bad control character in string literal at line 1, column 4');
    expect(error).to.include({ line: 1, column: 4 });
  });

  it('drops the position from messages that give one, whatever follows it', () => {
    expect(failure('{"a" 1}').message).to.equal("Expected ':' after property name at line 1, column 6");
    expect(failure('{"a":1,}').message).to.equal('Expected double-quoted property name at line 1, column 8');
    expect(failure('[1 2]').message).to.equal("Expected ',' or ']' after array element at line 1, column 4");
  });

  it('finds the offending character when the message names no position, wherever it is', () => {
    expect(failure('[1,]')).to.include({ message: "Unexpected token ']' at line 1, column 4" });
    expect(failure('[tru, 1]')).to.include({ line: 1, column: 5 });
    expect(failure('[\n 1,\n x\n]')).to.include({ line: 3, column: 2 });
    expect(failure('x')).to.include({ line: 1, column: 1 });
    expect(failure('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,]')).to.include({ line: 1, column: 38 });
    expect(failure('nul')).to.include({ message: 'Unexpected end of JSON input at line 1, column 4' });
  });
});
