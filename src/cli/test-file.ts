import path from 'node:path';
import { boolean, mixed, number, string, ValidationError } from 'yup';
import { parseDocument } from 'yaml';
import type { CertType, CriticalOptions } from '../core/certificate.js';
import { certTypeSchema, criticalOptionsSchema, extensionList } from '../core/certificate-schema.js';
import { parseCheckRequest } from '../core/check-request.js';
import { capDetails, FlexAuthError, ROOT_PATH } from '../core/errors.js';
import type { ErrorDetail } from '../core/errors.js';
import { list, strictObject, text, validationDetails } from '../core/schema.js';
import { DENY_REASONS } from '../core/types.js';
import type { CheckRequest, Reason } from '../core/types.js';

/** A registry test file (`flex-auth.tests/v1`), as `flex-auth test` runs it. */

export const TESTS_SCHEMA_ID = 'flex-auth.tests/v1';
const REASONS: readonly Reason[] = ['allowed', ...DENY_REASONS];

export interface Expectation {
  readonly allow: boolean;
  readonly reason?: Reason;
  /** Each field given must match the grant's (lists as sets); the rest are not compared. */
  readonly grant?: {
    readonly ttl_seconds?: number;
    readonly principals?: readonly string[];
    readonly cert_type?: CertType;
    readonly extensions?: readonly string[];
    /** The whole of the grant's critical options: `{}` asserts there are none. */
    readonly critical_options?: CriticalOptions;
  };
}

export interface TestCase {
  readonly name: string;
  /** The body as written, sent as is to a live server. */
  readonly body: Record<string, unknown>;
  /** The same body validated, for the offline engine. */
  readonly request: CheckRequest;
  readonly expect: Expectation;
}

export interface TestFile {
  readonly file: string;
  /** The registry path resolved against the test file's directory, when the file names one. */
  readonly registry: string | undefined;
  readonly cases: readonly TestCase[];
}

const testFileSchema = strictObject({
  schema: string().strict().required('is required').oneOf([TESTS_SCHEMA_ID], `must be ${TESTS_SCHEMA_ID}`),
  registry: text(4096).optional(),
  cases: list(
    strictObject({
      name: text(256),
      // Checked against the check schema separately, so its errors carry the request's own paths.
      request: mixed().required('is required'),
      expect: strictObject({
        allow: boolean().strict().typeError('must be true or false').required('is required'),
        reason: string().strict().typeError('must be a string').oneOf([...REASONS], `must be one of ${REASONS.join(', ')}`),
        grant: strictObject({
          ttl_seconds: number().strict().typeError('must be a number').integer('must be a whole number').positive('must be positive'),
          principals: list(text(256)).min(1, 'must not be empty'),
          cert_type: certTypeSchema().optional(),
          extensions: extensionList(),
          critical_options: criticalOptionsSchema(),
        }).optional(),
      }).required('is required'),
    }),
  ).required('is required').min(1, 'must have at least one case'),
}).required('must be an object');

interface RawTestFile {
  registry?: string;
  cases: { name: string; request: unknown; expect: Expectation }[];
}

/** What the check schema finds wrong with each case's request, at its path in the file. */
function requestErrors(body: unknown): ErrorDetail[] {
  const cases = (body as { cases?: unknown } | null)?.cases;
  if (!Array.isArray(cases)) return [];
  const errors: ErrorDetail[] = [];
  cases.forEach((testCase: unknown, i) => {
    const request = (testCase as { request?: unknown } | null)?.request;
    if (request === undefined) return;
    try {
      parseCheckRequest(request);
    } catch (error) {
      if (!(error instanceof FlexAuthError)) throw error;
      const details = error.details.length > 0 ? error.details : [{ path: ROOT_PATH, message: error.message }];
      for (const d of details) errors.push({ path: `cases[${i}].request${d.path ? `.${d.path}` : ''}`, message: d.message });
    }
  });
  return errors;
}

/** Errors of a well-shaped file: duplicate names, expectations that contradict themselves. */
function expectationErrors(raw: RawTestFile): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const names = new Set<string>();
  raw.cases.forEach((testCase, i) => {
    if (names.has(testCase.name)) errors.push({ path: `cases[${i}].name`, message: `duplicate case name ${testCase.name}` });
    names.add(testCase.name);
    const { allow, reason, grant } = testCase.expect;
    if (reason !== undefined && (reason === 'allowed') !== allow) {
      errors.push({ path: `cases[${i}].expect.reason`, message: `${reason} contradicts allow: ${allow}` });
    }
    if (grant !== undefined && !allow) errors.push({ path: `cases[${i}].expect.grant`, message: 'only an allow has a grant' });
  });
  return errors;
}

/** A problem with a test file: every error found, each with its path in the file. */
export class TestFileError extends Error {
  readonly file: string;
  readonly details: readonly ErrorDetail[];

  constructor(file: string, details: readonly ErrorDetail[]) {
    super(`${file}: invalid test file: ${details.length} error${details.length === 1 ? '' : 's'}`);
    this.file = file;
    this.details = details;
  }
}

/** Parses a test file (JSON or YAML; YAML is a superset) and validates it completely. */
export function parseTestFile(file: string, source: string): TestFile {
  // prettyErrors adds each error's line and column (and a source excerpt, left out here).
  const document = parseDocument(source, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    throw new TestFileError(file, document.errors.map((e) => {
      const at = e.linePos?.[0];
      const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, '');
      return { path: ROOT_PATH, message: `${at ? `line ${at.line}, column ${at.col}: ` : ''}${message}` };
    }));
  }
  const body: unknown = document.toJS();
  let raw: RawTestFile | undefined;
  let errors: ErrorDetail[] = [];
  try {
    raw = testFileSchema.validateSync(body, { abortEarly: false }) as RawTestFile;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const { details, total } = validationDetails(error);
    errors = [...capDetails(details, total)];
  }
  errors = [...errors, ...requestErrors(body), ...(raw ? expectationErrors(raw) : [])];
  if (raw === undefined || errors.length > 0) throw new TestFileError(file, errors);
  return {
    file,
    registry: raw.registry === undefined || path.isAbsolute(raw.registry) ? raw.registry : path.join(path.dirname(file), raw.registry),
    cases: raw.cases.map((c) => ({
      name: c.name,
      body: c.request as Record<string, unknown>,
      request: parseCheckRequest(c.request),
      expect: c.expect,
    })),
  };
}
