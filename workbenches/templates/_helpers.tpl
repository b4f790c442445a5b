{{/* Labels Helm and GitOps tools use to track what this release owns. */}}
{{- define "workbenches.commonLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: braking-distance
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/*
The enabled workbenches as a dict name -> settings, each merged over .Values.defaults and with
its image merged over .Values.image. `enabled` is read with hasKey because Sprig's merge
functions (and `default`) cannot tell an explicit false from an absent key.
*/}}
{{- define "workbenches.enabled" -}}
{{- $result := dict }}
{{- range $name, $spec := .Values.workbenches }}
{{- $enabled := true }}
{{- if hasKey $spec "enabled" }}{{ $enabled = $spec.enabled }}{{ end }}
{{- if $enabled }}
{{- $merged := mergeOverwrite (deepCopy $.Values.defaults) (omit (deepCopy $spec) "enabled" "image") }}
{{- $_ := set $merged "image" (mergeOverwrite (deepCopy $.Values.image) (deepCopy ($spec.image | default dict))) }}
{{- $_ := set $result $name $merged }}
{{- end }}
{{- end }}
{{- toJson $result }}
{{- end }}

{{/* An OpenShift user name as the dashboard writes it into a label value (kube:admin -> kube-3aadmin). */}}
{{- define "workbenches.userLabel" -}}
{{- . | lower | replace ":" "-3a" | replace "@" "-40" | replace "_" "-5f" | replace "." "-2e" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
postStart bootstrap: pip-installs the project once per package spec into ~/.local on the
workbench volume. It never fails the container: a broken install is logged to the volume and
Jupyter still starts, so the user can read the log and retry by hand.
*/}}
{{- define "workbenches.bootstrapScript" -}}
stamp="$HOME/.braking-bootstrap-$(printf '%s %s' "$BRAKING_BOOTSTRAP_PACKAGE" "$BRAKING_BOOTSTRAP_CONSTRAINTS" | sha256sum | cut -c1-16)"
log="$HOME/.braking-bootstrap.log"
[ -e "$stamp" ] && exit 0
set -- --user --quiet --no-warn-script-location
[ -n "$BRAKING_BOOTSTRAP_CONSTRAINTS" ] && set -- "$@" --constraint "$BRAKING_BOOTSTRAP_CONSTRAINTS"
if python3 -m pip install "$@" "$BRAKING_BOOTSTRAP_PACKAGE" >"$log" 2>&1; then
  touch "$stamp"
else
  echo "bootstrap of $BRAKING_BOOTSTRAP_PACKAGE failed, see $log" >&2
fi
exit 0
{{- end }}

{{/* The CA ConfigMaps to mount, by service: {"registry": {configMap, key, dir}, ...}. */}}
{{- define "workbenches.caBundles" -}}
{{- $result := dict }}
{{- with .Values.modelRegistry.caConfigMap }}
{{- $_ := set $result "registry" (dict "configMap" . "key" $.Values.modelRegistry.caKey "dir" "/opt/app-root/ca/registry") }}
{{- end }}
{{- with .Values.endpoint.caConfigMap }}
{{- $_ := set $result "endpoint" (dict "configMap" . "key" $.Values.endpoint.caKey "dir" "/opt/app-root/ca/endpoint") }}
{{- end }}
{{- toJson $result }}
{{- end }}

{{/*
Env vars that point the notebooks and `braking` at the project's services. Tokens are the
workbench's service-account token, never a value; S3 keys come from the connection Secret.
*/}}
{{- define "workbenches.serviceEnv" -}}
{{- $token := "/var/run/secrets/kubernetes.io/serviceaccount/token" }}
{{- if .Values.pipelineServer.setEnv }}
- name: BRAKING_DSPA_HOST
  value: {{ printf "https://ds-pipeline-%s.%s.svc.cluster.local:8443" .Values.pipelineServer.name .Release.Namespace }}
- name: BRAKING_DSPA_NAMESPACE
  value: {{ .Release.Namespace }}
{{- with .Values.pipelineServer.image }}
- name: BRAKING_PIPELINE_BASE_IMAGE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- with .Values.modelRegistry }}
{{- if .url }}
- name: BRAKING_REGISTRATION_REGISTRY_URL
  value: {{ printf "%s:%v" (trimSuffix "/" .url) .port | quote }}
- name: BRAKING_REGISTRATION_IS_SECURE
  value: {{ .tls | quote }}
{{- if .tls }}
- name: BRAKING_REGISTRATION_TOKEN_FILE
  value: {{ $token }}
{{- end }}
{{- if .caConfigMap }}
- name: BRAKING_REGISTRATION_CUSTOM_CA
  value: /opt/app-root/ca/registry/ca.crt
{{- end }}
# pipelines submitted from here register and deploy with the same registry, on KServe
- name: BRAKING_PIPELINE_REGISTRY_URL
  value: {{ printf "%s:%v" (trimSuffix "/" .url) .port | quote }}
- name: BRAKING_PIPELINE_DEPLOY_TARGET
  value: kserve
{{- end }}
{{- end }}
{{- with .Values.modelStorage.connection }}
- name: BRAKING_REGISTRATION_STORAGE
  value: s3
- name: BRAKING_REGISTRATION_STORAGE_KEY
  value: {{ . }}
{{- end }}
{{- with .Values.endpoint }}
{{- if .url }}
- name: BRAKING_PREDICT_URL
  value: {{ .url | quote }}
{{- if .auth }}
- name: BRAKING_PREDICT_TOKEN_FILE
  value: {{ $token }}
{{- end }}
{{- if .caConfigMap }}
- name: BRAKING_PREDICT_CA_BUNDLE
  value: /opt/app-root/ca/endpoint/ca.crt
{{- end }}
{{- end }}
{{- end }}
{{- end }}
