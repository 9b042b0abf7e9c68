/**
 * The Kubernetes names the commands take (serve's --registry-configmap and --registry-key,
 * configmap's and status's --namespace, --name and --key): one set of rules, so that no command
 * accepts a name that another refuses or that the API server would refuse.
 */

/** A namespace is a DNS label: lower-case letters, digits and `-`, at most 63 characters. */
const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A ConfigMap name is a DNS subdomain: as a label, dots allowed, at most 253 characters. */
const CONFIGMAP_NAME_PATTERN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A ConfigMap data key: letters, digits, `-`, `_` and `.`, at most 253 characters. */
const CONFIGMAP_KEY_PATTERN = /^[-._a-zA-Z0-9]{1,253}$/;

export const isNamespaceName = (value: string): boolean => NAMESPACE_PATTERN.test(value);
export const isConfigMapName = (value: string): boolean => CONFIGMAP_NAME_PATTERN.test(value);
export const isConfigMapKey = (value: string): boolean => CONFIGMAP_KEY_PATTERN.test(value);
