{{/*
What every template shares: names, labels, a service's effective values and
its configuration file, and the pod spec parts all Cairn containers have.
A service is one entry of .Values.services; templates range over that map
with "cairn.services", so none of them names a service.
*/}}

{{/* The release's base name: the release name, with "-cairn" unless it holds "cairn" already. */}}
{{- define "cairn.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains "cairn" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-cairn" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one service's objects: dict "root" $ "name" NAME ["suffix" S]. */}}
{{- define "cairn.name" -}}
{{- $n := printf "%s-%s" (include "cairn.fullname" .root) .name -}}
{{- if .suffix }}{{ $n = printf "%s-%s" $n .suffix }}{{ end -}}
{{- $n | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The image, tag pinned: the chart's appVersion unless image.tag says otherwise. */}}
{{- define "cairn.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if or (eq $tag "latest") (eq $tag "") -}}
{{- fail "image.tag must name a release (e.g. 0.1.0), not latest" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/* Labels of every object; dict "root" $ "component" NAME. */}}
{{- define "cairn.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: cairn
{{ include "cairn.selectorLabels" . }}
{{- end -}}

{{/* What selects one component's pods; dict "root" $ "component" NAME. */}}
{{- define "cairn.selectorLabels" -}}
app.kubernetes.io/name: cairn
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Fills into .dst every key of .src that .dst lacks, recursing into maps both
have. Unlike sprig's merge it keeps false and 0 that .dst sets.
*/}}
{{- define "cairn.fill" -}}
{{- range $k, $v := .src -}}
{{- if not (hasKey $.dst $k) -}}
{{- $_ := set $.dst $k (deepCopy $v) -}}
{{- else if and (kindIs "map" $v) (kindIs "map" (index $.dst $k)) -}}
{{- include "cairn.fill" (dict "dst" (index $.dst $k) "src" $v) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Sets every key of .src into .dst, recursing into maps both have: .src wins,
false and 0 included (sprig's mergeOverwrite would skip them).
*/}}
{{- define "cairn.overlay" -}}
{{- range $k, $v := .src -}}
{{- if and (kindIs "map" $v) (hasKey $.dst $k) (kindIs "map" (index $.dst $k)) -}}
{{- include "cairn.overlay" (dict "dst" (index $.dst $k) "src" $v) -}}
{{- else if kindIs "invalid" $v -}}
{{- $_ := unset $.dst $k -}}
{{- else -}}
{{- $_ := set $.dst $k (deepCopy $v) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The enabled services as YAML, each with serviceDefaults filled in: a map
NAME -> values. Templates read it with fromYaml and range over it.
*/}}
{{- define "cairn.services" -}}
{{- $out := dict -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled -}}
{{- $s := deepCopy $svc -}}
{{- include "cairn.fill" (dict "dst" $s "src" $.Values.serviceDefaults) -}}
{{- if and (not $s.autoscaling.enabled) (gt (int $s.replicas) (int $.Values.kafka.partitions)) -}}
{{- fail (printf "services.%s.replicas (%d) exceeds kafka.partitions (%d): replicas beyond the partitions of its topics get none and idle" $name (int $s.replicas) (int $.Values.kafka.partitions)) -}}
{{- end -}}
{{- if and $s.autoscaling.enabled (gt (int $s.autoscaling.maxReplicas) (int $.Values.kafka.partitions)) -}}
{{- fail (printf "services.%s.autoscaling.maxReplicas (%d) exceeds kafka.partitions (%d): replicas beyond the partitions of its topics get none and idle" $name (int $s.autoscaling.maxReplicas) (int $.Values.kafka.partitions)) -}}
{{- end -}}
{{- if and $s.autoscaling.enabled (gt (int $s.autoscaling.minReplicas) (int $s.autoscaling.maxReplicas)) -}}
{{- fail (printf "services.%s.autoscaling.minReplicas exceeds its maxReplicas" $name) -}}
{{- end -}}
{{- $_ := set $out $name $s -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
One service's configuration file (YAML): what the chart wires (admin port,
Kafka, Redis, the API port, the topics of services turned off), under the
global config, under the service's own config.
dict "root" $ "name" NAME "svc" EFFECTIVE-VALUES.
*/}}
{{- define "cairn.config" -}}
{{- $v := .root.Values -}}
{{- $kafka := dict "bootstrap.servers" $v.kafka.bootstrapServers -}}
{{- include "cairn.overlay" (dict "dst" $kafka "src" $v.kafka.settings) -}}
{{- $cfg := dict "admin" (dict "port" $v.adminPort) "kafka" $kafka -}}
{{- if has "redis" .svc.uses -}}
{{- $_ := set $cfg "redis" (dict "host" $v.redis.host "port" $v.redis.port) -}}
{{- end -}}
{{- if .svc.api -}}
{{- $_ := set $cfg "http" (dict "port" .svc.api.port) -}}
{{- /* a service turned off is not deployed: the gateway answers its routes 501 at once */ -}}
{{- $up := dict -}}
{{- range $name, $s := $v.services -}}
{{- if and (ne $name "gateway") (not $s.enabled) -}}
{{- $_ := set $up (printf "%s_topic" $name) "" -}}
{{- end -}}
{{- end -}}
{{- if $up -}}
{{- $_ := set $cfg "upstream" $up -}}
{{- end -}}
{{- end -}}
{{- /* a service that calls others (.calls) names each in <name>.<callee>_topic: empty for one turned off */ -}}
{{- $off := dict -}}
{{- range $callee := .svc.calls | default list -}}
{{- if not (dig $callee "enabled" false $v.services) -}}
{{- $_ := set $off (printf "%s_topic" $callee) "" -}}
{{- end -}}
{{- end -}}
{{- if $off -}}
{{- $_ := set $cfg .name $off -}}
{{- end -}}
{{- include "cairn.overlay" (dict "dst" $cfg "src" $v.config) -}}
{{- include "cairn.overlay" (dict "dst" $cfg "src" (.svc.config | default dict)) -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The setup Job's cairn-admin file: Kafka and the Job's own settings. */}}
{{- define "cairn.adminConfig" -}}
{{- $v := .Values -}}
{{- $kafka := dict "bootstrap.servers" $v.kafka.bootstrapServers -}}
{{- include "cairn.overlay" (dict "dst" $kafka "src" $v.kafka.settings) -}}
{{- $cfg := dict "kafka" $kafka -}}
{{- include "cairn.overlay" (dict "dst" $cfg "src" ($v.setup.config | default dict)) -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* A secretKeyRef env var: dict "name" ENV "ref" {name, key}. */}}
{{- define "cairn.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name }}
      key: {{ .ref.key }}
{{- end -}}

{{/*
Environment of a Cairn container: the secrets its dependencies need (by
name, from existing Secrets), tracing, and the service's own env.
dict "root" $ "uses" LIST "env" LIST "component" NAME.
*/}}
{{- define "cairn.env" -}}
{{- $v := .root.Values -}}
{{- if $v.kafka.saslPasswordSecret.name }}
{{ include "cairn.secretEnv" (dict "name" "CAIRN_KAFKA_SASL_PASSWORD" "ref" $v.kafka.saslPasswordSecret) }}
{{- end }}
{{- if has "postgres" .uses }}
{{- if not $v.postgres.urlSecret.name }}
{{- fail (printf "%s uses PostgreSQL: set postgres.urlSecret.name to the Secret holding its URL" .component) }}
{{- end }}
{{ include "cairn.secretEnv" (dict "name" "CAIRN_PG_URL" "ref" $v.postgres.urlSecret) }}
{{- end }}
{{- if and (has "redis" .uses) $v.redis.passwordSecret.name }}
{{ include "cairn.secretEnv" (dict "name" "CAIRN_REDIS_PASSWORD" "ref" $v.redis.passwordSecret) }}
{{- end }}
{{- if $v.tracing.endpoint }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.tracing.endpoint | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.pod.name=$(K8S_POD_NAME),k8s.namespace.name=$(K8S_NAMESPACE)"
{{- range $k, $val := $v.tracing.env }}
- name: {{ $k }}
  value: {{ $val | toString | quote }}
{{- end }}
{{- end }}
{{- with .env }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod-level security: the image's user, never root, the runtime's seccomp profile. */}}
{{- define "cairn.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security: read-only root, no privilege escalation, no capabilities. */}}
{{- define "cairn.securityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Secret files (auth.keys_file, api_key_file, ...) must be mode 0600 or 0400
and readable by the service's user, which a Secret volume cannot give (root
owns its files; fsGroup adds group read). An init container copies each
Secret of .secretFiles into /run/cairn/secrets/NAME/, owned by the service's
user, mode 0400, in memory. dict "root" $ "files" MAP "resources" R.
*/}}
{{- define "cairn.secretFilesInit" -}}
- name: secret-files
  image: {{ include "cairn.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  command:
    - sh
    - -ec
    - |
      for src in /run/cairn/secret-src/*/; do
        dst=/run/cairn/secrets/$(basename "$src")
        mkdir -p "$dst"
        for f in "$src"*; do
          # an empty source (a glob that matched nothing) copies nothing
          [ -f "$f" ] || continue
          install -m 0400 "$f" "$dst/$(basename "$f")"
        done
      done
  securityContext:
    {{- include "cairn.securityContext" . | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {cpu: 100m, memory: 32Mi}
  volumeMounts:
    - name: secrets
      mountPath: /run/cairn/secrets
    {{- range $name, $f := .files }}
    - name: secret-src-{{ $name }}
      mountPath: /run/cairn/secret-src/{{ $name }}
      readOnly: true
    {{- end }}
{{- end -}}

{{/* The volumes of secretFiles: the in-memory copy and each Secret. dict "root" $ "files" MAP. */}}
{{- define "cairn.secretFilesVolumes" -}}
- name: secrets
  emptyDir:
    medium: Memory
    sizeLimit: 1Mi
{{- range $name, $f := .files }}
- name: secret-src-{{ $name }}
  secret:
    secretName: {{ $f.secretName }}
    defaultMode: 288 # 0440: the init container reads it through fsGroup
{{- end }}
{{- end -}}

{{/* One egress rule from a networkPolicy.egress entry: dict "rule" {to, ports} "udp" BOOL. */}}
{{- define "cairn.egressRule" -}}
- ports:
    {{- range .rule.ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- if $.udp }}
    - {port: {{ . }}, protocol: UDP}
    {{- end }}
    {{- end }}
  {{- with .rule.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
Egress of a Cairn pod: DNS, Kafka, and what .uses names (postgres, redis),
the OTLP receiver when tracing is on, then .extra rules.
dict "root" $ "uses" LIST "extra" LIST.
*/}}
{{- define "cairn.egress" -}}
{{- $e := .root.Values.networkPolicy.egress -}}
{{ include "cairn.egressRule" (dict "rule" $e.dns "udp" true) }}
{{ include "cairn.egressRule" (dict "rule" $e.kafka) }}
{{- if has "postgres" .uses }}
{{ include "cairn.egressRule" (dict "rule" $e.postgres) }}
{{- end }}
{{- if has "redis" .uses }}
{{ include "cairn.egressRule" (dict "rule" $e.redis) }}
{{- end }}
{{- if .root.Values.tracing.endpoint }}
{{ include "cairn.egressRule" (dict "rule" $e.otlp) }}
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Annotations of a pre-install/pre-upgrade hook object: dict "weight" N. */}}
{{- define "cairn.hook" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}
