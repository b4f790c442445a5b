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
