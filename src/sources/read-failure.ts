/**
 * Why a file could not be read, in words for someone who typed its path. Here, below both
 * src/cli and the sources, so that both word it alike (`cannot read KUBECONFIG /x: no such file`).
 */

/** What a file system error code means to someone who typed a path. */
const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
};

/** Why a path could not be read, in words: `no such file`, `is a directory, not a file`, ... */
export function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined ? FILE_ERRORS[code] : undefined) ?? (error as Error).message;
}
