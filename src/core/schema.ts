import { array, mixed, object, string, ValidationError } from 'yup';
import type { AnyObject, ObjectShape, Schema } from 'yup';
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
 * An object that rejects every key it does not declare, one error per unknown key up to the
 * details cap, then one error counting the rest: 6,000 unknown keys cost no more than 20.
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
        const more = unknown.length - errors.length;
        if (more > 0) errors.push(this.createError({ path: this.path || ROOT_PATH, message: `and ${more} more unknown keys` }));
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

/** Every problem a yup validation found, as contract error details. */
export function validationDetails(error: ValidationError): ErrorDetail[] {
  const errors = error.inner.length > 0 ? error.inner : [error];
  return errors.map((e) => ({ path: e.path || ROOT_PATH, message: e.message }));
}
