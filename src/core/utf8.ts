/**
 * How every document and input is read from bytes: strictly. Bytes that are not UTF-8 throw
 * (a TypeError) instead of becoming replacement characters, and a leading byte order mark is
 * kept, so strict JSON refuses it as it does in text. One decoder for the service and the CLI,
 * so that what the CLI accepts is what the service loads.
 */
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8Strictly(bytes: Uint8Array): string {
  return strict.decode(bytes);
}
