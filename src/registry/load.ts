import { ValidationError } from 'yup';
import { RegistryValidationError } from '../core/errors.js';
import type { ErrorDetail } from '../core/errors.js';
import { validationDetails } from '../core/schema.js';
import { CompiledRegistry } from './compiled-registry.js';
import type { RegistryDocument } from './document.js';
import { plainlyMeetsSchema } from './plain-validation.js';
import type { GroupGraph } from './groups.js';
import { checkReferences, groupGraphOfDocument } from './references.js';
import { revisionOfValid } from './revision.js';
import { registrySchema } from './schema.js';

/** What the yup schema, the source of truth, finds wrong with a document's shape. */
function schemaErrors(document: unknown): ErrorDetail[] {
  try {
    registrySchema.validateSync(document, { abortEarly: false });
    return [];
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return validationDetails(error);
  }
}

/** Every problem in a parsed document: schema errors and reference errors, all at once. */
export function validateRegistry(document: unknown, groups: GroupGraph = groupGraphOfDocument(document)): ErrorDetail[] {
  const errors = plainlyMeetsSchema(document) ? [] : schemaErrors(document);
  return [...errors, ...checkReferences(document, groups)];
}

/**
 * Text in, frozen compiled registry out; or a `RegistryValidationError` that lists every
 * problem with its JSON path. Nothing is half-loaded: the result is complete or absent.
 */
export function loadRegistry(text: string): CompiledRegistry {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new RegistryValidationError([{ path: '', message: `not valid JSON: ${(error as Error).message}` }]);
  }
  const groups = groupGraphOfDocument(document);
  const errors = validateRegistry(document, groups);
  if (errors.length > 0) throw new RegistryValidationError(errors);
  const valid = document as RegistryDocument;
  return new CompiledRegistry(valid, revisionOfValid(valid), groups);
}
