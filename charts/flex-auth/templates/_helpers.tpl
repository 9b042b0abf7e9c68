{{/*
The names ops-warden relies on (docs/operations.md, In Kubernetes). They do not depend on the release name, so the
in-cluster URL is always http://flex-auth.<namespace>.svc.cluster.local:8080.
*/}}
{{- define "flex-auth.name" -}}flex-auth{{- end }}

{{- define "flex-auth.serviceAccountName" -}}flex-auth{{- end }}

{{- define "flex-auth.roleName" -}}flex-auth-registry-reader{{- end }}
{{/* Cluster-scoped, so one per release namespace. */}}
{{- define "flex-auth.tokenReviewerName" -}}flex-auth-tokenreviewer-{{ .Release.Namespace }}{{- end }}

{{/* The registry ConfigMap: the chart's own, or the existing one ops-warden owns. */}}
{{- define "flex-auth.registryConfigMap" -}}
{{- .Values.registry.existingConfigMap | default "flex-auth-registry" -}}
{{- end }}

{{- define "flex-auth.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{/* Labels the Deployment selects its pods by (immutable once installed). */}}
{{- define "flex-auth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flex-auth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "flex-auth.labels" -}}
{{ include "flex-auth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: policy-decision-point
app.kubernetes.io/part-of: ops-warden
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "flex-auth.chart" . }}
{{- end }}

{{- define "flex-auth.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/* Render-time checks that the schema cannot express. */}}
{{- define "flex-auth.validate" -}}
{{- if and .Values.registry.existingConfigMap .Values.registry.inline -}}
{{- fail "registry.existingConfigMap and registry.inline are exclusive: the chart creates no ConfigMap when it uses an existing one" -}}
{{- end -}}
{{- if .Values.registry.inline -}}
{{- $doc := .Values.registry.inline | fromJson -}}
{{- if hasKey $doc "Error" -}}
{{- fail (printf "registry.inline is not a JSON object: %s" (get $doc "Error")) -}}
{{- end -}}
{{- end -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add (int .Values.shutdownDelaySeconds) 15) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be at least shutdownDelaySeconds + 15 (%v): the delay, 10 s of draining and 5 s to exit" .Values.terminationGracePeriodSeconds (add (int .Values.shutdownDelaySeconds) 15)) -}}
{{- end -}}
{{- with .Values.maxStaleness -}}
{{- if ne . "off" -}}
{{- /* The schema checks the form; the CLI's range (1s to 24h) is checked here, so a pod never crash-loops on it. */ -}}
{{- $seconds := add (mul (regexFind "[0-9]+h" . | trimSuffix "h" | default "0" | atoi) 3600) (mul (regexFind "[0-9]+m" . | trimSuffix "m" | default "0" | atoi) 60) (regexFind "[0-9]+s" . | trimSuffix "s" | default "0" | atoi) -}}
{{- if or (lt $seconds 1) (gt $seconds 86400) -}}
{{- fail (printf "maxStaleness must be a duration from 1s to 24h, or off (got %s)" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if eq (int .Values.diagnosticPort) 8080 -}}
{{- fail "diagnosticPort must not be 8080: that is the checks' port, and the probes and /metrics move off it" -}}
{{- end -}}
{{- if and .Values.auth.tokenReview.audience (not .Values.auth.tokenReview.allowedCallers) -}}
{{- fail "auth.tokenReview.audience needs auth.tokenReview.allowedCallers: the usernames that may ask for decisions, e.g. system:serviceaccount:ops-warden:ops-warden" -}}
{{- end -}}
{{- if and .Values.auth.tokenReview.allowedCallers (not .Values.auth.tokenReview.audience) -}}
{{- fail "auth.tokenReview.allowedCallers needs auth.tokenReview.audience: the audience callers' tokens are made for, e.g. flex-auth" -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.enabled (ge (int .Values.podDisruptionBudget.minAvailable) (int .Values.replicaCount)) -}}
{{- fail (printf "podDisruptionBudget.minAvailable (%v) must be below replicaCount (%v), or no node could ever be drained" .Values.podDisruptionBudget.minAvailable .Values.replicaCount) -}}
{{- end -}}
{{- end }}
