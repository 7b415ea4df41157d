#!/usr/bin/env bash
# A chaos run, then its telemetry: krkn's Job, and when it has finished (passed or failed: a
# failed run is worth sending too), the collector Job for it, named after the run.
#   kubectl apply -k infra/k8s                      # once: namespace, account, least privilege
#   kubectl -n krkn-telemetry create secret generic krkn-config --from-file=config.yaml=krkn.yaml
#   kubectl apply -f infra/k8s/config-secret.yaml   # the collector's config (telemetry section)
#   infra/k8s/examples/krkn-then-collector.sh
# krknctl and krkn-hub runs work the same way: what the collector needs is krkn's report (or
# its run output JSON) on a volume it mounts, and krkn's config with the telemetry section.
set -euo pipefail
cd "$(dirname "$0")/../../.."
ns=krkn-telemetry
kubectl -n "$ns" delete job krkn-run --ignore-not-found
kubectl apply -f infra/k8s/examples/krkn-job.yaml
# Complete or Failed, whichever comes first (kubectl wait takes one condition per call).
until kubectl -n "$ns" get job krkn-run \
    -o jsonpath='{range .status.conditions[*]}{.type}={.status}{"\n"}{end}' \
    | grep -Eq '^(Complete|Failed)=True$'; do
    sleep 10
done
job="$(infra/k8s/job/render-run.sh | kubectl apply -f - -o name)"
echo "collector: $job"
kubectl -n "$ns" wait --for=condition=complete --timeout=3600s "$job"
kubectl -n "$ns" logs "$job"
