#!/usr/bin/env bash
# Build the Linux bundle and run its self-check, so the installer never rots (issue 10, scope 5).
#
#   bash tools/bundle_check.sh [--no-packages] [--no-cache]
#
# Uses $PYTHON (default .venv/bin/python, as tools/test.sh makes it) and installs the `installer` extra's tools
# (PyInstaller) into it when missing. Cache-friendly: the bundle is kept in $UMWS_BUNDLE_CACHE (default
# ~/.cache/umws/bundle) under a hash of everything it is built from (app/, migrations/, resources/, installer/,
# pyproject.toml and the installed packages); an unchanged tree reuses it and only the checks run. PyInstaller's
# work folder is kept there too, so a changed tree rebuilds faster. The two newest bundles are kept.
#
# Checks: the bundle and packages exist; keyrings.alt is not in the bundle (its backends keep the store key in a
# plaintext file); `umws selfcheck --json` of the frozen app passes (no keyring on CI: a warning under
# UMWS_ALLOW_INSECURE_KEYRING=1), from a read-only copy of the bundle, as an unprivileged user when run as root,
# writing nothing into the bundle; a copy missing a data file fails naming it; the GUI executable starts; the .deb holds the desktop entry, icon and commands.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
started=$(date +%s)

packages=1
use_cache=1
for argument in "$@"; do
  case "$argument" in
    --no-packages) packages=0 ;;
    --no-cache) use_cache=0 ;;
    *) echo "usage: bash tools/bundle_check.sh [--no-packages] [--no-cache]" >&2; exit 2 ;;
  esac
done

PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
  tools=$("$PY" -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["installer"]))')
  echo "bundle check: installing the build tools: $tools" >&2
  # shellcheck disable=SC2086
  "$PY" -m pip install -q $tools
fi

CACHE=${UMWS_BUNDLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/umws/bundle}
mkdir -p "$CACHE"
key=$( {
  find app migrations resources installer pyproject.toml -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
    | sort -z | xargs -0 sha256sum
  "$PY" -m pip freeze --exclude-editable 2>/dev/null
  "$PY" -c 'import sys; print(sys.version)'
  echo "packages=$packages"
} | sha256sum | cut -c1-16)
DIST="$CACHE/$key"
BUNDLE="$DIST/umws"

if [ "$use_cache" = 1 ] && [ -x "$BUNDLE/umws" ] && [ -f "$DIST/.complete" ]; then
  echo "bundle check: reusing the bundle built from identical inputs ($DIST)" >&2
else
  rm -rf "$DIST"
  build_args=(--dist "$DIST" --work "$CACHE/work")
  [ "$packages" = 1 ] || build_args+=(--no-packages)
  build_started=$(date +%s)
  "$PY" installer/build.py "${build_args[@]}"
  touch "$DIST/.complete"
  echo "bundle check: built in $(( $(date +%s) - build_started )) s" >&2
  # keep the two newest bundles (and the work folder)
  ls -1dt "$CACHE"/*/ 2>/dev/null | grep -v '/work/$' | tail -n +3 | xargs -r rm -rf
fi

fail() { echo "bundle check: FAILED: $*" >&2; exit 1; }

# keyrings.alt must never ship (the build checks it too; this is the bundle as it stands in the cache)
if find "$BUNDLE" -iname '*keyrings*' | grep -q .; then
  fail "the bundle holds keyrings.alt: $(find "$BUNDLE" -iname '*keyrings*' | head -3 | tr '\n' ' ')"
fi
grep -q '"keyrings' "$BUNDLE/_internal/umws-manifest.json" && fail "the bundle's manifest lists keyrings.alt"

# the self-check, from a read-only copy of the bundle, as an unprivileged user where we can
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
chmod 755 "$work"
cp -al "$BUNDLE" "$work/umws" 2>/dev/null || cp -a "$BUNDLE" "$work/umws"
chmod -R a-w "$work/umws"
mkdir -p "$work/home"
as_user=()
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && id nobody >/dev/null 2>&1; then
  chown nobody "$work/home"
  as_user=(runuser -u nobody --)
fi
touch "$work/before"
check_started=$(date +%s)
set +e
"${as_user[@]}" env -i PATH=/usr/bin:/bin HOME="$work/home" UMWS_HOME="$work/home/umws" \
  UMWS_SITE_CONFIG="$work/home/no-site-config.toml" UMWS_ALLOW_INSECURE_KEYRING=1 LANG=C.UTF-8 \
  "$work/umws/umws" selfcheck --json >"$work/selfcheck.json" 2>"$work/selfcheck.err"
status=$?
set -e
check_seconds=$(( $(date +%s) - check_started ))
"$PY" - "$work/selfcheck.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
for step in report["steps"]:
    print(f"  {step['status'].upper():<8} {step['step']:<16} {step['detail']}", file=sys.stderr)
keyring = next(step for step in report["steps"] if step["step"] == "keyring")
if "keyrings.alt" in keyring["detail"]:
    sys.exit("bundle check: FAILED: the bundle's keyring resolves to keyrings.alt")
if not report["frozen"]:
    sys.exit("bundle check: FAILED: the self-check did not run frozen")
EOF
if [ "$status" != 0 ]; then
  sed 's/^/  /' "$work/selfcheck.err" >&2
  fail "the bundle's self-check exited with $status"
fi
written=$(find "$work/umws" -newer "$work/before" | head -5)
[ -z "$written" ] || fail "the app wrote into its install folder: $written"

# a bundle missing a data file must fail its self-check, naming the file
cp -al "$BUNDLE" "$work/broken" 2>/dev/null || cp -a "$BUNDLE" "$work/broken"
rm "$work/broken/_internal/resources/rulesets.json"
set +e
env -i PATH=/usr/bin:/bin HOME="$work/home-broken" UMWS_HOME="$work/home-broken" UMWS_ALLOW_INSECURE_KEYRING=1 \
  UMWS_SITE_CONFIG="$work/no-site-config.toml" LANG=C.UTF-8 "$work/broken/umws" selfcheck >"$work/broken.out" 2>&1
broken_status=$?
set -e
[ "$broken_status" = 1 ] && grep -q "FAIL  data files .*rulesets.json" "$work/broken.out" \
  || { cat "$work/broken.out" >&2; fail "a bundle without resources/rulesets.json did not fail its self-check"; }

# the GUI executable starts (its argument parser runs before any window)
"$work/umws/umws-gui" --help | grep -q "UM reviewer workstation" || fail "umws-gui does not start"

if [ "$packages" = 1 ]; then
  version=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
  deb=$(ls "$DIST"/umws_"$version"_*.deb 2>/dev/null | head -1)
  tarball=$(ls "$DIST"/umws-"$version"-linux-*.tar.gz 2>/dev/null | head -1)
  [ -n "$deb" ] && [ -n "$tarball" ] || fail "the .deb or .tar.gz for version $version was not built"
  contents=$(dpkg-deb -c "$deb")
  for path in ./opt/umws/umws ./opt/umws/umws-gui ./usr/bin/umws ./usr/share/applications/umws.desktop \
              ./usr/share/icons/hicolor/scalable/apps/umws.svg ./usr/share/doc/umws/umws.toml.example; do
    grep -q " $path" <<<"$contents" || fail "$deb lacks $path"
  done
  [ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "$deb has version $(dpkg-deb -f "$deb" Version)"
  tar -tzf "$tarball" umws/umws umws/share/applications/umws.desktop >/dev/null || fail "$tarball lacks its files"
  echo "bundle check: packages $(basename "$deb") ($(du -m "$deb" | cut -f1) MB), $(basename "$tarball") ($(du -m "$tarball" | cut -f1) MB)" >&2
fi

steps=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(s["status"] in ("passed","warning") for s in r["steps"]), sum(s["status"] in ("failed","skipped") for s in r["steps"]))' "$work/selfcheck.json")
read -r ok bad <<<"$steps"
echo "bundle check: $(du -sm "$BUNDLE" | cut -f1) MB bundle at $BUNDLE; self-check ${check_seconds} s; total $(( $(date +%s) - started )) s" >&2
echo "bundle selfcheck: $ok passed, $bad failed"
