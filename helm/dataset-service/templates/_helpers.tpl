{{/*
Expand the name of the chart.
*/}}
{{- define "dataset-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
Truncated at 52 characters so that "-inference" (10) still fits in a 63-character DNS label.
If the release name contains the chart name it is used as the full name.
*/}}
{{- define "dataset-service.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of one component's objects: <fullname>-<component>.
Usage: include "dataset-service.componentName" (list . "api")
*/}}
{{- define "dataset-service.componentName" -}}
{{- $root := index . 0 }}
{{- printf "%s-%s" (include "dataset-service.fullname" $root) (index . 1) }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "dataset-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "dataset-service.labels" -}}
helm.sh/chart: {{ include "dataset-service.chart" . }}
{{ include "dataset-service.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "dataset-service.name" . }}
{{- end }}

{{/*
Selector labels
*/}}
{{- define "dataset-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dataset-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of one component (api, jobs, inference).
Usage: include "dataset-service.componentLabels" (list . "api")
*/}}
{{- define "dataset-service.componentLabels" -}}
{{ include "dataset-service.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/*
Selector labels of one component; they never change after the first install.
Usage: include "dataset-service.componentSelectorLabels" (list . "api")
*/}}
{{- define "dataset-service.componentSelectorLabels" -}}
{{ include "dataset-service.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "dataset-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dataset-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Name of the Secret holding DATABASE_URL, SECRET_KEY, S3_ACCESS_KEY and S3_SECRET_KEY.
*/}}
{{- define "dataset-service.secretName" -}}
{{- default (include "dataset-service.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
Name of the ConfigMap holding the non-secret settings.
*/}}
{{- define "dataset-service.configMapName" -}}
{{- include "dataset-service.fullname" . }}
{{- end }}

{{/*
The image of the api, jobs and migrations: repository:tag, the tag defaulting to appVersion.
*/}}
{{- define "dataset-service.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The inference worker's image: its own repository/tag when set, else the shared image.
*/}}
{{- define "dataset-service.inferenceImage" -}}
{{- $repository := .Values.inference.image.repository | default .Values.image.repository }}
{{- $tag := .Values.inference.image.tag | default .Values.image.tag | default .Chart.AppVersion }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}

{{/*
In-cluster URL of the inference Service, given to the api and the jobs as WORKER_URL.
*/}}
{{- define "dataset-service.workerUrl" -}}
{{- printf "http://%s:%d" (include "dataset-service.componentName" (list . "inference")) (int .Values.inference.service.port) }}
{{- end }}

{{/*
Pod-level settings every component shares: image pull secrets, service account, pod security
context and scheduling, the scheduling taken from the component when set, else the chart-wide one.
Usage: include "dataset-service.podCommon" (list . .Values.api)
*/}}
{{- define "dataset-service.podCommon" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
serviceAccountName: {{ include "dataset-service.serviceAccountName" $root }}
automountServiceAccountToken: {{ $root.Values.serviceAccount.automount }}
{{- with $root.Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with ($component.nodeSelector | default $root.Values.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with ($component.affinity | default $root.Values.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with ($component.tolerations | default $root.Values.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Checksums of the settings, so pods roll when they change. The secret's checksum is taken over
the values that feed it, not the rendered Secret, whose generated SECRET_KEY differs per render.
*/}}
{{- define "dataset-service.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.existingSecret }}
checksum/secret: {{ toJson (list .Values.database .Values.s3 .Values.appSecretKey .Values.workerToken) | sha256sum }}
{{- end }}
{{- end }}

{{/*
Writable scratch space: the root filesystem is read-only by default.
*/}}
{{- define "dataset-service.scratchVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: var
  mountPath: /var/lib/dataset-service
{{- end }}

{{- define "dataset-service.scratchVolumes" -}}
- name: tmp
  emptyDir: {}
- name: var
  emptyDir: {}
{{- end }}

{{/*
The object store's private CA, when s3.caBundle.configMap names one: the env variable, the
mount and the volume each pod that talks to the store adds (nothing otherwise).
*/}}
{{- define "dataset-service.s3CaEnv" -}}
{{- if .Values.s3.caBundle.configMap }}
- name: S3_CA_BUNDLE
  value: /etc/dataset-service/s3-ca/{{ .Values.s3.caBundle.key }}
{{- end }}
{{- end }}

{{- define "dataset-service.s3CaVolumeMounts" -}}
{{- if .Values.s3.caBundle.configMap }}
- name: s3-ca
  mountPath: /etc/dataset-service/s3-ca
  readOnly: true
{{- end }}
{{- end }}

{{- define "dataset-service.s3CaVolumes" -}}
{{- if .Values.s3.caBundle.configMap }}
- name: s3-ca
  configMap:
    name: {{ .Values.s3.caBundle.configMap }}
{{- end }}
{{- end }}
