import { ValidationError } from 'yup';
import type { AnySchema } from 'yup';
import { capDetails, MAX_ERROR_DETAILS, RegistryValidationError, ROOT_PATH } from '../core/errors.js';
import type { ErrorDetail } from '../core/errors.js';
import { isPlainObject } from '../core/json-shape.js';
import { validationDetails } from '../core/schema.js';
import { JsonTextError, parseJson } from '../core/strict-json.js';
import { CompiledRegistry } from './compiled-registry.js';
import type { RegistryDocument } from './document.js';
import { isPlainActor, isPlainRelationship, plainlyMeetsSchema } from './plain-validation.js';
import type { GroupGraph } from './groups.js';
import { checkReferences, groupGraphOfDocument } from './references.js';
import { revisionOfValid } from './revision.js';
import { actorSchema, documentShellSchema, relationshipSchema } from './schema.js';

/**
 * The problems found in a document: the first `MAX_ERROR_DETAILS` listed, and how many in all.
 * Once the list is full, an item that fails the plain check counts as one more problem without
 * going through yup, so a document with 50,000 bad actors costs little more than one with 20.
 */
class Problems {
  readonly listed: ErrorDetail[] = [];
  total = 0;

  get full(): boolean {
    return this.listed.length >= MAX_ERROR_DETAILS;
  }

  add(details: readonly ErrorDetail[]): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: the error lists MAX_ERROR_DETAILS at most anyway (capDetails).
    for (const detail of details) if (this.listed.length < MAX_ERROR_DETAILS) this.listed.push(detail);
    this.total += details.length;
  }

  count(more: number): void {
    this.total += more;
  }
}

/** Adds what the yup `schema`, the source of truth, finds wrong with `value`, paths under `path`. */
function addSchemaErrors(problems: Problems, schema: AnySchema, value: unknown, path?: string): void {
  try {
    // Stryker disable next-line ConditionalExpression: yup takes an undefined path as none.
    schema.validateSync(value, { abortEarly: false, ...(path === undefined ? {} : { path }) });
  } catch (error) {
    // Stryker disable next-line ConditionalExpression: yup throws only its ValidationError here.
    if (!(error instanceof ValidationError)) throw error;
    const { details, total } = validationDetails(error);
    problems.add(details);
    problems.count(total - details.length);
  }
}

/** The document's shape, then each actor and relationship that the plain pass does not accept. */
function findSchemaProblems(document: unknown, problems: Problems): void {
  // Stryker disable next-line ConditionalExpression: the fast path; without it yup gives the same verdict, slower.
  if (plainlyMeetsSchema(document)) return;
  addSchemaErrors(problems, documentShellSchema, document);
  if (!isPlainObject(document)) return;
  const parts = [['actors', actorSchema, isPlainActor], ['relationships', relationshipSchema, isPlainRelationship]] as const;
  for (const [key, schema, isPlain] of parts) {
    const items = document[key];
    if (!Array.isArray(items)) continue;
    items.forEach((item, index) => {
      if (isPlain(item)) return;
      if (problems.full) problems.count(1);
      else addSchemaErrors(problems, schema, item, `${key}[${index}]`);
    });
  }
}

function findProblems(document: unknown, groups: GroupGraph): Problems {
  const problems = new Problems();
  findSchemaProblems(document, problems);
  const references = checkReferences(document, groups, MAX_ERROR_DETAILS);
  problems.add(references.errors);
  problems.count(references.more);
  return problems;
}

/**
 * The problems in a parsed document, schema and reference errors together: the first
 * `MAX_ERROR_DETAILS`, then one detail counting the rest.
 */
export function validateRegistry(document: unknown, groups: GroupGraph = groupGraphOfDocument(document)): readonly ErrorDetail[] {
  const problems = findProblems(document, groups);
  return capDetails(problems.listed, problems.total);
}

/** Strict JSON (no duplicate keys), or the error that says where it is not. */
function parseRegistryText(text: string): unknown {
  try {
    return parseJson(text);
  } catch (error) {
    // Stryker disable next-line ConditionalExpression: parseJson throws only JsonTextError.
    if (!(error instanceof JsonTextError)) throw error;
    const message = error.path === ROOT_PATH ? `not valid JSON: ${error.message}` : `not strict JSON: ${error.message}`;
    throw new RegistryValidationError([{ path: error.path, message }]);
  }
}

/** A document that passed validation, with its group graph and revision. */
export interface ValidDocument {
  readonly document: RegistryDocument;
  readonly groups: GroupGraph;
  readonly revision: string;
}

/**
 * Text in, a valid document out; or a `RegistryValidationError` that lists the problems with
 * their JSON paths. The one way text becomes a document, for the service, its reload worker and
 * the offline tools alike.
 */
export function validateRegistryText(text: string): ValidDocument {
  const document = parseRegistryText(text);
  const groups = groupGraphOfDocument(document);
  const problems = findProblems(document, groups);
  if (problems.total > 0) throw new RegistryValidationError(problems.listed, problems.total);
  const valid = document as RegistryDocument;
  return { document: valid, groups, revision: revisionOfValid(valid) };
}

/** Text in, frozen compiled registry out. Nothing is half-loaded: the result is complete or absent. */
export function loadRegistry(text: string): CompiledRegistry {
  const { document, groups, revision } = validateRegistryText(text);
  return new CompiledRegistry(document, revision, groups);
}
