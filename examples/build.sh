#!/usr/bin/env bash
# Rebuilds examples/drift-detector from the YAML in examples/src with pkg
# itself, in a throw-away hub. The output is deterministic: the same pkg and
# the same sources give the same bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkg=${PKG:-pkg}
hub=$(mktemp -d)/hub.db
trap 'rm -rf "$(dirname "$hub")"' EXIT
export PKG_HUB=$hub SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}

"$pkg" -q space create drift-detector --display-name "Drift detector" --label team=platform
"$pkg" -q worker create --space drift-detector cluster-worker --label region=eu-west-1
"$pkg" -q target create --space drift-detector --worker cluster-worker --provider Kubernetes \
  --parameters '{"KubeContext":"prod-eu","KubeNamespace":"drift-detector","WaitTimeout":"2m0s"}' prod-cluster
for unit in serviceaccount configmap deployment; do
  "$pkg" -q unit create --space drift-detector --file "$here/src/$unit.yaml" \
    --target prod-cluster --label app=drift-detector --label component="$unit" "$unit"
done
"$pkg" -q link create --space drift-detector --from deployment --to configmap deployment-to-config
"$pkg" -q link create --space drift-detector --from deployment --to serviceaccount deployment-to-sa
"$pkg" -q filter create --space drift-detector --from Unit --where-field "Labels.app = 'drift-detector'" detector-units
"$pkg" -q view create --space drift-detector --filter detector-units --column Slug --column Labels.component \
  --order-by Slug --order-by-direction ASC detector-view
"$pkg" -q create "$here/drift-detector" --force --name drift-detector --version 1.4.2 \
  --description "Detects drift between ConfigHub units and live clusters"
echo "wrote $here/drift-detector"
