{{/* Chart name, overridable. */}}
{{- define "xmpp-archive.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name for resources. Truncated to 63 characters because some Kubernetes name
fields are limited to that (DNS-1123 labels).
*/}}
{{- define "xmpp-archive.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "xmpp-archive.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "xmpp-archive.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Image tag in use; also the version label. */}}
{{- define "xmpp-archive.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion -}}
{{- end -}}

{{- define "xmpp-archive.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (include "xmpp-archive.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/*
Selector labels. Deployment selectors are immutable, so these must never change
between chart versions: only name and instance.
*/}}
{{- define "xmpp-archive.selectorLabels" -}}
app.kubernetes.io/name: {{ include "xmpp-archive.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Standard labels for every resource. */}}
{{- define "xmpp-archive.labels" -}}
helm.sh/chart: {{ include "xmpp-archive.chart" . }}
{{ include "xmpp-archive.selectorLabels" . }}
app.kubernetes.io/version: {{ include "xmpp-archive.imageTag" . | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: archive-node
app.kubernetes.io/part-of: xmpp-archive
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* commonAnnotations merged with resource-specific ones (passed as .extra). */}}
{{- define "xmpp-archive.annotations" -}}
{{- $all := merge (deepCopy (.extra | default dict)) (deepCopy (.context.Values.commonAnnotations | default dict)) -}}
{{- with $all -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{- define "xmpp-archive.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "xmpp-archive.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "xmpp-archive.secretName" -}}
{{- default (include "xmpp-archive.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/*
Secrets the pod consumes, as a list of {env, key, file}: the component secret always,
the database passwords only when they are set (created Secret) or have a key (existing Secret).
*/}}
{{- define "xmpp-archive.secretItems" -}}
{{- $items := list -}}
{{- $existing := .Values.secrets.existingSecret -}}
{{- $keys := .Values.secrets.keys -}}
{{- $items = append $items (dict "env" "COMPONENT_SECRET" "key" $keys.componentSecret "file" "component-secret") -}}
{{- if or (and $existing $keys.redisPassword) (and (not $existing) .Values.redis.password) -}}
{{- $items = append $items (dict "env" "REDIS_PASSWORD" "key" $keys.redisPassword "file" "redis-password") -}}
{{- end -}}
{{- if or (and $existing $keys.cassandraPassword) (and (not $existing) .Values.cassandra.password) -}}
{{- $items = append $items (dict "env" "CASSANDRA_PASSWORD" "key" $keys.cassandraPassword "file" "cassandra-password") -}}
{{- end -}}
{{- toJson $items -}}
{{- end -}}

{{/* Graceful shutdown budget: the drain the app is told about plus a margin for the kubelet. */}}
{{- define "xmpp-archive.terminationGracePeriodSeconds" -}}
{{- add (int .Values.shutdown.drainSeconds) (int .Values.shutdown.marginSeconds) -}}
{{- end -}}

{{/* Checksum of the secret inputs so a changed password rolls the pods (never of a generated value). */}}
{{- define "xmpp-archive.secretChecksum" -}}
{{- list .Values.component.secret .Values.redis.password .Values.cassandra.password .Values.secrets | toJson | sha256sum -}}
{{- end -}}
