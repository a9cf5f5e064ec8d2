{{- define "cceone.fullname" -}}
{{- printf "%s-cceone" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "cceone.labels" -}}
app.kubernetes.io/name: cceone
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "cceone.selector" -}}
app.kubernetes.io/name: cceone
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cceone.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "cceone.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "cceone.fullname" .)) -}}
{{- end -}}

{{- define "cceone.hubTlsSecret" -}}
{{- .Values.hub.tls.existingSecret | default (printf "%s-hub-tls" (include "cceone.fullname" .)) -}}
{{- end -}}

{{/* The environment every console process shares: settings from the ConfigMap, secrets. */}}
{{- define "cceone.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "cceone.fullname" . }}-config
  - secretRef:
      name: {{ include "cceone.secretName" . }}
{{- end -}}

{{- define "cceone.volumes" -}}
- name: tmp
  emptyDir: {}
- name: hub-tls
  secret:
    secretName: {{ include "cceone.hubTlsSecret" . }}
{{- end -}}

{{- define "cceone.mounts" -}}
- name: tmp
  mountPath: /tmp
- name: hub-tls
  mountPath: /etc/cceone/hub-tls
  readOnly: true
{{- end -}}
