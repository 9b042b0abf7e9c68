/**
 * An object under construction, its members added one by one. On the hot path objects are built
 * that way rather than with a spread followed by more members (`{ ...a, b }`, `{ ...a, ...b }`):
 * Node 20's V8 gives every object so built a hidden class of its own, so each request made new
 * ones in the old generation, left the property caches that read them megamorphic, and grew the
 * heap until a mark-compact (docs/performance-history.md). A test checks the shapes stay shared.
 */
export type Writable<T> = { -readonly [K in keyof T]: T[K] };
