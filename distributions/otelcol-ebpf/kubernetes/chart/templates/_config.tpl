{{/*
The collector config: distributions/otelcol-ebpf/config.yaml adapted to a
DaemonSet (OTLP, health and metrics on the pod IP; k8s_attributes;
exporters from values).
*/}}
{{- define "otelcol-ebpf.config" -}}
{{- $exp := list "table_store" -}}
{{- if .Values.debug }}{{ $exp = append $exp "debug" }}{{ end -}}
{{- $procs := list "memory_limiter" -}}
{{- if .Values.k8sAttributes.enabled }}{{ $procs = append $procs "k8s_attributes" }}{{ end -}}
{{- $procs = concat $procs (list "pii_redaction" "batch") -}}
{{- $f := .Values.filter -}}
{{- $filter := deepCopy (default dict $f.extra) -}}
{{- with $f.includeNamespaces }}{{ $_ := set $filter "include_namespaces" . }}{{ end -}}
{{- with $f.excludeNamespaces }}{{ $_ := set $filter "exclude_namespaces" . }}{{ end -}}
{{- with $f.includePods }}{{ $_ := set $filter "include_pods" . }}{{ end -}}
{{- with $f.excludePods }}{{ $_ := set $filter "exclude_pods" . }}{{ end -}}
{{- $_ := set $filter "pods_dir" "/var/log/pods" -}}
extensions:
  health_check:
    endpoint: ${env:MY_POD_IP}:{{ .Values.ports.health }}
  # The last {{ .Values.store.retention }} of everything below, in memory as Arrow tables,
  # queried with PxL on {{ .Values.store.endpoint }}.
  table_store:
    max_bytes: {{ .Values.store.maxBytes | int64 }}
    retention: {{ .Values.store.retention }}
    {{- with .Values.store.tableShares }}
    table_shares:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    http:
      endpoint: {{ .Values.store.endpoint }}
receivers:
  ebpf:
    # Headers and bodies go through pii_redaction before anything is
    # stored or exported.
    http:
      capture_headers: {{ .Values.capture.headers }}
      capture_bodies: {{ .Values.capture.bodies }}
      max_body_bytes: {{ .Values.capture.maxBodyBytes | int }}
    metrics:
      interval: {{ .Values.metricsInterval }}
    # Pod of each process: its cgroup (k8s.pod.uid) and the kubelet's
    # /var/log/pods/<namespace>_<name>_<uid> (mounted read-only).
    filter:
      {{- toYaml $filter | nindent 6 }}
  otlp:
    protocols:
      grpc:
        endpoint: ${env:MY_POD_IP}:{{ .Values.ports.otlpGrpc }}
      http:
        endpoint: ${env:MY_POD_IP}:{{ .Values.ports.otlpHttp }}
processors:
  # Soft limit 80% / hard 90% of the container's memory limit (GOMEMLIMIT
  # is 80% too).
  memory_limiter:
    check_interval: 1s
    limit_percentage: 90
    spike_limit_percentage: 10
  {{- if .Values.k8sAttributes.enabled }}
  # Pod, namespace, workload and node names. The ebpf receiver sets
  # k8s.pod.uid and container.id from each process's cgroup; OTLP senders
  # are matched by the same attributes or by their connection's IP.
  k8s_attributes:
    auth_type: serviceAccount
    filter:
      node_from_env_var: KUBE_NODE_NAME   # watch only this node's pods
    extract:
      metadata:
        - k8s.namespace.name
        - k8s.pod.name
        - k8s.pod.uid
        - k8s.pod.start_time
        - k8s.node.name
        - k8s.deployment.name
        - k8s.replicaset.name
        - k8s.statefulset.name
        - k8s.daemonset.name
        - k8s.job.name
        - k8s.cronjob.name
        - k8s.container.name
        - container.image.name
        - container.image.tag
    pod_association:
      - sources:
          - from: resource_attribute
            name: k8s.pod.uid
      - sources:
          - from: resource_attribute
            name: container.id
      - sources:
          - from: resource_attribute
            name: k8s.pod.ip
      - sources:
          - from: connection
  {{- end }}
  # Personal data and secrets out of every signal (categories | full | off).
  pii_redaction:
    mode: {{ .Values.redaction.mode }}
    never_touch_keys: [server.address, client.address, network.peer.address, network.local.address]
  batch: {}
exporters:
  table_store:
    extension: table_store
  # Metrics of the traced processes, for a ServiceMonitor (port prom-metrics).
  prometheus:
    endpoint: ${env:MY_POD_IP}:{{ .Values.ports.prometheus }}
  {{- if .Values.debug }}
  debug:
    verbosity: basic
  {{- end }}
  {{- with .Values.exporters }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
service:
  extensions: [health_check, table_store]
  pipelines:
    traces:
      receivers: [ebpf, otlp]
      processors: {{ toJson $procs }}
      exporters: {{ concat $exp .Values.pipelines.traces | toJson }}
    metrics:
      receivers: [ebpf, otlp]
      processors: {{ toJson $procs }}
      exporters: {{ concat $exp (list "prometheus") .Values.pipelines.metrics | toJson }}
    logs:
      receivers: [ebpf, otlp]
      processors: {{ toJson $procs }}
      exporters: {{ concat $exp .Values.pipelines.logs | toJson }}
  telemetry:
    metrics:
      level: normal
      # The collector's own metrics (port otel-metrics).
      readers:
        - pull:
            exporter:
              prometheus:
                host: ${env:MY_POD_IP}
                port: {{ .Values.ports.telemetry }}
{{- end -}}
