#!/usr/bin/env bash
# The one command that sets up and runs Berth's whole test suite on a fresh Debian machine with
# Node 20: installs the real clients the tests drive (when missing), installs the npm packages,
# builds, type-checks, lints, then runs every compiled test file with node's test runner.
# The last line is `N passed, N failed` (tests, plus the type check and lint as one each);
# the exit status is non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# A setup step that fails ends the run, still with a summary as the last line.
step() {
  echo "== $*"
  "$@" || {
    echo "== FAILED: $*"
    echo "0 passed, 1 failed"
    exit 1
  }
}

# Debian packages of the real clients and peers the tests run (skopeo, ctr, dockerd, CNCF
# Distribution, a browser, htpasswd, umoci; buildah, openssl and systemd-analyze for the TLS and
# deployment tests).
packages=(skopeo containerd docker.io docker-registry chromium apache2-utils umoci podman curl buildah openssl systemd)
missing=()
# The scale-out engines: Ceph RADOS Gateway (S3) and PostgreSQL (about 60 s to install).
packages+=(ceph-mon ceph-osd radosgw postgresql)
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  step "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update
  step "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"
fi

rm -rf dist # so no compiled test of a deleted source runs
step npm ci
step npm run build

# The type check and lint are reported like tests, so one failing does not hide the others.
checks_passed=0
checks_failed=0
for check in typecheck lint; do
  echo "== npm run $check"
  if npm run "$check"; then
    checks_passed=$((checks_passed + 1))
  else
    echo "== npm run $check FAILED"
    checks_failed=$((checks_failed + 1))
  fi
done

# Node 20 takes no globs after --test: list the compiled test files.
mapfile -t files < <(find dist/src dist/test -name '*.test.js' -type f 2>/dev/null | sort)
if ((${#files[@]} == 0)); then
  echo "no compiled test files under dist/"
  echo "0 passed, $((checks_failed + 1)) failed"
  exit 1
fi
log=$(mktemp)
# The scale-out engines, started once for the whole run (7–12 s for Ceph, 2–3 s for PostgreSQL)
# and stopped at exit; tests find them through the exported BERTH_TEST_* variables
# (test/support/services.ts). A failed start is reported, and the tests that need the engine
# fail under CI.
services=$(mktemp -d /tmp/berth-svc-XXXXXX)
chmod 755 "$services" # PostgreSQL runs as `postgres` when this script runs as root
stop_services() {
  bash scripts/services/ceph-rgw.sh stop "$services/ceph" || true
  bash scripts/services/postgres.sh stop "$services/pg" || true
  rm -rf "$services"
}
trap 'stop_services; rm -f "$log"' EXIT
for service in ceph-rgw:ceph postgres:pg; do
  echo "== scripts/services/${service%%:*}.sh start"
  if bash "scripts/services/${service%%:*}.sh" start "$services/${service#*:}" >/dev/null; then
    # shellcheck disable=SC1090
    source "$services/${service#*:}/env"
  else
    echo "== FAILED to start ${service%%:*}"
  fi
done

echo "== node --test (${#files[@]} files)"
status=0
node --test --test-reporter=spec --test-concurrency=2 --test-timeout=600000 "${files[@]}" 2>&1 | tee "$log" || status=$?

# The spec reporter ends with lines like `ℹ pass 12`; take the last of each.
count() { sed -e 's/\x1b\[[0-9;]*m//g' "$log" | sed -n "s/^ℹ $1 \([0-9][0-9]*\)\$/\1/p" | tail -n 1; }
passed=$(count pass)
fail=$(count fail)
cancelled=$(count cancelled)
failed=$((${fail:-0} + ${cancelled:-0}))
if [[ -z $passed ]]; then
  # The runner died before its summary: count that as a failure.
  passed=0
  failed=$((failed + 1))
fi
if ((status != 0 && failed == 0)); then failed=1; fi
echo "$((passed + checks_passed)) passed, $((failed + checks_failed)) failed"
((status == 0 && checks_failed == 0))
