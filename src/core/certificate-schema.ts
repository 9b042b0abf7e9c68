import { string } from 'yup';
import { CERT_TYPES, CERTIFICATE_LIMITS, EXTENSION_HINT, forceCommandProblem, isExtension } from './certificate.js';
import { cidrProblem } from './cidr.js';
import { list, strictObject, text, uniqueItems } from './schema.js';

/** yup rules for the certificate fields, shared by the registry's `certificate` section and check requests. */

/** A string that `problem` finds nothing wrong with. */
function checkedText(max: number, name: string, problem: (value: string) => string | undefined) {
  return text(max).test({
    name,
    test(value) {
      const found = value === undefined ? undefined : problem(value);
      return found === undefined || this.createError({ message: found });
    },
  });
}

export function extensionList() {
  return list(checkedText(64, 'extension', (value) => (isExtension(value) ? undefined : EXTENSION_HINT)))
    .test({ name: 'unique-extensions', test: uniqueItems('extension') });
}

/** Critical options: a forced command and source blocks, each optional. */
export function criticalOptionsSchema() {
  return strictObject({
    force_command: checkedText(CERTIFICATE_LIMITS.forceCommandLength, 'force-command', forceCommandProblem).optional(),
    source_address: list(checkedText(CERTIFICATE_LIMITS.sourceAddressLength, 'cidr', cidrProblem))
      .min(1, 'must not be empty (omit it for no source restriction)')
      .max(CERTIFICATE_LIMITS.sourceAddresses, `must have at most ${CERTIFICATE_LIMITS.sourceAddresses} entries`)
      .test({ name: 'unique-sources', test: uniqueItems('source address') }),
  });
}

export function certTypeSchema() {
  return string().strict().required('is required').typeError('must be a string')
    .oneOf(CERT_TYPES, `must be one of ${CERT_TYPES.join(', ')}`);
}
