/** The package's programmatic API: the engine, the registry loader, the service and a client. */
export { FlexAuthClient } from './client/flex-auth-client.js';
export { openBaoSignRequest } from './client/openbao-sign.js';
export type { OpenBaoSshSignRequest } from './client/openbao-sign.js';
export type { AuthzenEvaluation, CheckInput, CheckOutcome, EvaluationOutcome, FlexAuthClientOptions, RegistryInfo } from './client/flex-auth-client.js';
export { parseCheckRequest, parseCheckRequestText } from './core/check-request.js';
export { decide } from './core/decide.js';
export { decisionId } from './core/decision-id.js';
export { formatDuration, parseDuration } from './core/duration.js';
export { FlexAuthError, InvalidRequestError, RegistryValidationError } from './core/errors.js';
export type { CertType, CriticalOptions } from './core/certificate.js';
export type { CertificateGrant, CheckRequest, Decision, Grant, Reason, TraceEntry } from './core/types.js';
export { loadRegistry, validateRegistry } from './registry/load.js';
export type { CompiledRegistry } from './registry/compiled-registry.js';
export { revisionOf } from './registry/revision.js';
export { startService } from './main.js';
export type { RunningService, ServiceConfig } from './main.js';
