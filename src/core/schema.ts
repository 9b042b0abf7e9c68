import { array, mixed, object, string, ValidationError } from 'yup';
import type { AnyObject, ObjectShape, Schema, TestContext } from 'yup';
import { parseDuration } from './duration.js';
import { MAX_ERROR_DETAILS, ROOT_PATH } from './errors.js';
import type { ErrorDetail } from './errors.js';

/**
 * yup building blocks shared by the request and registry schemas. Everything is strict (no
 * casting: `"5"` is not a number) and every message leaves the path out, since the path is
 * reported beside it.
 */

function childPath(parent: string | undefined, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/**
 * An error that stands for `count` errors not listed one by one: creating thousands of yup
 * errors costs more than the check they report. `validationDetails` counts it, never lists it.
 */
export function unlistedErrors(context: TestContext, count: number): ValidationError {
  return context.createError({ params: { unlisted: count } });
}

/**
 * An object that rejects every key it does not declare, one error per unknown key up to the
 * details cap, then the rest counted: 6,000 unknown keys cost no more than 20.
 */
export function strictObject<S extends ObjectShape>(shape: S) {
  const known = new Set(Object.keys(shape));
  return object(shape)
    .strict()
    .default(undefined)
    .typeError('must be an object')
    .nonNullable('must be an object')
    .test({
      name: 'no-unknown-keys',
      test(value: AnyObject | undefined) {
        if (value === undefined || value === null || typeof value !== 'object') return true;
        const unknown = Object.keys(value).filter((key) => !known.has(key));
        if (unknown.length === 0) return true;
        const errors = unknown.slice(0, MAX_ERROR_DETAILS).map((key) => this.createError({ path: childPath(this.path, key), message: 'unknown key' }));
        if (unknown.length > errors.length) errors.push(unlistedErrors(this, unknown.length - errors.length));
        return new ValidationError(errors);
      },
    });
}

/** A required, non-empty string of at most `max` characters. */
export function text(max: number) {
  return string()
    .strict()
    .typeError('must be a string')
    .nonNullable('must be a string')
    .required('is required')
    .max(max, `must be at most ${max} characters`);
}

/** An array, each item `item`; without `item`, items are left to be validated one by one elsewhere. */
export function list<T extends Schema<any, any, any, any>>(item?: T) {
  return (item ? array().of(item) : array()).strict().typeError('must be an array').nonNullable('must be an array');
}

/** A duration (seconds or `1h30m`), validated with the same parser the engine uses. */
export function duration() {
  return mixed().test({
    name: 'duration',
    // Only a missing key is absent: null is a wrong value, not a default.
    test(value) {
      if (value === undefined) return true;
      const parsed = parseDuration(value);
      return parsed.ok || this.createError({ message: parsed.message });
    },
  });
}

/** A free-form JSON object (not an array, not null). */
export function plainObject() {
  return mixed().test({
    name: 'plain-object',
    message: 'must be an object',
    test: (value) => value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value)),
  });
}

/** The problems a yup validation found, as contract error details, and how many in all (listed or not). */
export function validationDetails(error: ValidationError): { readonly details: ErrorDetail[]; readonly total: number } {
  const details: ErrorDetail[] = [];
  let total = 0;
  for (const e of error.inner.length > 0 ? error.inner : [error]) {
    const unlisted = (e.params as { unlisted?: number } | undefined)?.unlisted;
    if (unlisted !== undefined) {
      total += unlisted;
    } else {
      details.push({ path: e.path || ROOT_PATH, message: e.message });
      total += 1;
    }
  }
  return { details, total };
}

/**
 * Errors at `path[i]` for every item equal to an earlier one (by `key`), up to the details
 * cap, then one counting the rest.
 */
export function uniqueItems<T>(what: string, key: (item: T) => unknown = (item) => item, field = '') {
  return function (this: TestContext, items: readonly T[] | undefined) {
    if (!Array.isArray(items)) return true;
    const firstIndex = new Map<unknown, number>();
    const errors: ValidationError[] = [];
    let unlisted = 0;
    items.forEach((item, index) => {
      const value = key(item);
      if (typeof value !== 'string') return;
      const first = firstIndex.get(value);
      if (first === undefined) firstIndex.set(value, index);
      else if (errors.length < MAX_ERROR_DETAILS) errors.push(this.createError({ path: `${this.path}[${index}]${field}`, message: `duplicate ${what} ${value} (first at index ${first})` }));
      else unlisted++;
    });
    if (unlisted > 0) errors.push(unlistedErrors(this, unlisted));
    return errors.length === 0 || new ValidationError(errors);
  };
}

