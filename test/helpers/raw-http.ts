/**
 * Raw HTTP over loopback sockets, for tests of what no well-behaved client sends: stalled
 * headers and bodies, pipelined garbage, clients that never close their side.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { createLogger } from '../../src/logger.js';
import type { ServerLimits } from '../../src/http/limits.js';
import { startService } from '../../src/main.js';
import type { RunningService } from '../../src/main.js';

/**
 * A connected socket. `allowHalfOpen` makes it behave like an attacker's: it never closes its
 * side, so only the server can end the connection.
 */
export function openSocket(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * What a socket received until the server ended the connection, or until `timeoutMs` passed.
 * A half-open client sees the same end whether the server closed the connection or only its
 * own side: tell those apart by what the server can still accept.
 */
export function received(socket: Socket, timeoutMs = 4000): Promise<{ data: string; ended: boolean }> {
  return new Promise((resolve) => {
    let data = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
    const timer = setTimeout(() => resolve({ data, ended: false }), timeoutMs);
    const ended = () => {
      clearTimeout(timer);
      resolve({ data, ended: true });
    };
    socket.once('end', ended).once('close', ended).on('error', () => {});
  });
}

/** The status lines of every response in a raw byte stream, in order. */
export const statusLines = (data: string): string[] => data.match(/HTTP\/1\.1 \d{3}/g) ?? [];

/** The JSON body of the last response in a raw byte stream. */
export const lastJsonBody = (data: string): Record<string, any> => JSON.parse(data.slice(data.lastIndexOf('\r\n\r\n') + 4)) as Record<string, any>;

/** A service on an ephemeral port serving `registryFile` with `limits`, its log discarded. */
export function startServiceWithLimits(registryFile: string, limits: Partial<ServerLimits>): Promise<RunningService> {
  return startService(
    { host: '127.0.0.1', port: 0, registry: { kind: 'file', path: registryFile } },
    {
      // Decision lines are written at every level, so a quiet log needs a destination that drops them.
      logger: createLogger({ destination: { write: () => {} } }),
      fileSource: { pollIntervalMs: 0 },
      limits,
      shutdownGraceMs: 100,
    },
  );
}
