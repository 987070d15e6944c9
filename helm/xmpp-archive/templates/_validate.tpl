{{/*
Checks across values that JSON Schema cannot express; fails the render with a clear message.
*/}}
{{- define "xmpp-archive.validate" -}}
{{- $errors := list -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if and .Values.redis.password (not .Values.secrets.keys.redisPassword) -}}
{{- $errors = append $errors "redis.password is set but secrets.keys.redisPassword is empty" -}}
{{- end -}}
{{- if and .Values.cassandra.password (not .Values.secrets.keys.cassandraPassword) -}}
{{- $errors = append $errors "cassandra.password is set but secrets.keys.cassandraPassword is empty" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- $errors = append $errors "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (not .Values.autoscaling.targetCPUUtilizationPercentage) (not .Values.autoscaling.targetMemoryUtilizationPercentage) (not .Values.autoscaling.metrics) -}}
{{- $errors = append $errors "autoscaling.enabled needs at least one of targetCPUUtilizationPercentage, targetMemoryUtilizationPercentage or metrics" -}}
{{- end -}}
{{- if and (hasPrefix "rediss://" .Values.redis.url) (not .Values.redis.tls.enabled) -}}
{{- $errors = append $errors "redis.url uses rediss:// but redis.tls.enabled is false" -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nxmpp-archive: invalid values:\n  - %s\n" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}
