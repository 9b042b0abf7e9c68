import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A protocol-level fake of the Kubernetes TokenReview API (POST
 * /apis/authentication.k8s.io/v1/tokenreviews), for the faults a real API server will not
 * produce on demand: no answer, a 500, an answer that is not a TokenReview, a status that does
 * not name the audience back, a body that never ends, any answer a test writes. Tokens are
 * JWT-shaped (with an `exp` claim) and minted at test time; the fake knows who each one is and
 * for which audiences. The real API server is tested in test/k8s/caller-identity.test.ts.
 */

export type ReviewFault =
  | 'none'
  /** Never answers (until the fault is lifted: then the held requests are cut). */
  | 'slow'
  | 'error-500'
  /** 201 with a body that is not JSON. */
  | 'not-json'
  /** 201 with a TokenReview that authenticates nobody: `authenticated: true` and no username. */
  | 'bad-status'
  /** Authenticates every known token but names another audience in the status. */
  | 'wrong-audience'
  /** 201 with the start of a TokenReview, then nothing more (the body never ends). */
  | 'slow-body'
  /** Exactly this answer: a status code and a body made from the reviewed token. */
  | { readonly status: number; readonly body: (token: string) => string };

interface Identity {
  readonly username: string;
  readonly audiences: readonly string[];
  /** Seconds since the epoch. */
  readonly exp: number;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export class FakeTokenReviewApi {
  private server: Server | undefined;
  private readonly identities = new Map<string, Identity>();
  private fault: ReviewFault = 'none';
  private readonly held = new Set<ServerResponse>();
  /** Every token reviewed, in order (the fake's own memory: the tokens are made for the test). */
  readonly reviewed: string[] = [];
  /** The audiences each review asked for. */
  readonly askedAudiences: string[][] = [];
  /** Called with each reviewed token before the answer goes out. */
  onReview: ((token: string) => void | Promise<void>) | undefined;

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const response of this.held) response.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** A kubeconfig file for a flex-auth child process (`KUBECONFIG`). */
  async writeKubeconfig(file: string): Promise<void> {
    const config = {
      apiVersion: 'v1', kind: 'Config', 'current-context': 'fake',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: 'flex-auth-reviewer' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
    };
    await writeFile(file, JSON.stringify(config), { mode: 0o600 });
  }

  /** A new token for `username`, valid for `audiences` until `expiresInSeconds` from now. */
  mint(username: string, options: { audiences?: readonly string[]; expiresInSeconds?: number } = {}): string {
    const exp = Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 3600);
    const token = `${base64url({ alg: 'RS256', kid: 'fake' })}.${base64url({ sub: username, aud: options.audiences ?? ['flex-auth'], exp })}.${randomBytes(32).toString('base64url')}`;
    this.identities.set(token, { username, audiences: options.audiences ?? ['flex-auth'], exp });
    return token;
  }

  setFault(fault: ReviewFault): void {
    this.fault = fault;
    if (fault === 'slow' || fault === 'slow-body') return;
    for (const response of this.held) response.destroy();
    this.held.clear();
  }

  /** How many times this token was reviewed. */
  reviewsOf(token: string): number {
    return this.reviewed.filter((reviewed) => reviewed === token).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => void this.review(req, res, Buffer.concat(chunks).toString('utf8')));
  }

  private async review(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const json = (status: number, value: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/apis/authentication.k8s.io/v1/tokenreviews') {
      return json(404, { kind: 'Status', code: 404 });
    }
    const body = JSON.parse(text) as { spec: { token: string; audiences?: string[] } };
    const { token, audiences = [] } = body.spec;
    this.reviewed.push(token);
    this.askedAudiences.push(audiences);
    await this.onReview?.(token);
    switch (this.fault) {
      case 'slow':
        this.held.add(res);
        return;
      case 'error-500':
        return json(500, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500, message: 'injected fault' });
      case 'not-json':
        res.writeHead(201, { 'content-type': 'application/json' }).end('{"kind":"TokenReview","status":');
        return;
      case 'bad-status':
        return json(201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', spec: body.spec, status: { authenticated: true, user: {} } });
      case 'slow-body':
        res.writeHead(201, { 'content-type': 'application/json' }).write('{"kind":"TokenReview",');
        this.held.add(res);
        return;
      default:
    }
    if (typeof this.fault === 'object') {
      res.writeHead(this.fault.status, { 'content-type': 'application/json' }).end(this.fault.body(token));
      return;
    }
    const identity = this.identities.get(token);
    const granted = identity?.audiences.filter((audience) => audiences.includes(audience)) ?? [];
    const valid = identity !== undefined && identity.exp > Date.now() / 1000 && granted.length > 0;
    // A real API server echoes the spec, token included: a client must not log the answer.
    const status = !valid
      ? { user: {}, error: 'invalid bearer token' }
      : {
        authenticated: true,
        user: { username: identity.username, uid: 'fake-uid', groups: ['system:serviceaccounts', 'system:authenticated'] },
        audiences: this.fault === 'wrong-audience' ? ['somebody-else'] : granted,
      };
    json(201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, spec: body.spec, status });
  }
}
