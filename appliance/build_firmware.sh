#!/bin/sh
# make firmware: the pushbridge program for the appliance's architectures.
#
# For each architecture it builds
#   dist/pushbridge-<arch>-linux          `deno compile` single binary, when a denort
#                                         runtime for the target is available
#   dist/pushbridge-<arch>-linux-bundle/  the offline fallback that always builds:
#                                         bin/pushbridge (wrapper), lib/deno (the pinned
#                                         runtime from npm), lib/pushbridge.js (deno bundle),
#                                         lib/photo_worker.js (the photo resizer's Web Worker)
#   dist/pushbridge-<arch>-linux-bundle.tar.gz   the same, packed (input of sign_update.ts)
#
# denort is looked up in DENORT_BIN_<ARCH> (DENORT_BIN_X86_64, DENORT_BIN_AARCH64),
# DENORT_BIN (only when a single ARCH is built) and Deno's download cache. Without
# it the compiled binary is skipped with one line on stderr and the script exits 3
# after building the fallback (FIRMWARE_FALLBACK_OK=1 makes that exit 0).
#
# Usage: appliance/build_firmware.sh [x86_64|aarch64|amd64|arm64 ...]   (default: both)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DENO=${DENO:-}
if [ -z "$DENO" ]; then
  if [ -x "$ROOT/.tools/node_modules/.bin/deno" ]; then DENO="$ROOT/.tools/node_modules/.bin/deno"; else DENO=deno; fi
fi
DENO_VERSION=$("$DENO" --version | head -n1 | cut -d' ' -f2)
DIST="$ROOT/dist"
BUILD="$DIST/.build"
export DENO_NO_UPDATE_CHECK=1
# What the program needs at run time (declared, not --allow-all): sockets, its data
# directory and certificates, PUSHBRIDGE_* settings, host names and interfaces for
# the certificate, and `systemctl`/`tar` for updates.
PERMISSIONS="--allow-net --allow-read --allow-write --allow-env --allow-sys --allow-run"

normalize() {
  case "$1" in
    x86_64 | amd64 | x64) echo x86_64 ;;
    aarch64 | arm64) echo aarch64 ;;
    *) echo "error: unknown architecture '$1' (use x86_64/amd64 or aarch64/arm64)" >&2; exit 2 ;;
  esac
}

ARCHES=""
for a in "$@"; do ARCHES="$ARCHES $(normalize "$a")"; done
[ -n "$ARCHES" ] || ARCHES="x86_64 aarch64"
set -- $ARCHES
SINGLE=""
[ $# -eq 1 ] && SINGLE=1

mkdir -p "$BUILD"
VERSION=$(sed -n 's/^export const VERSION = "\(.*\)";$/\1/p' src/version.ts)
[ -n "$VERSION" ] || { echo "error: no VERSION in src/version.ts" >&2; exit 1; }

# One bundle serves both architectures: the app is plain JS plus node:sqlite, which
# the runtime provides. npm packages (hono) are bundled in.
"$DENO" bundle --quiet --platform deno --frozen -o "$BUILD/pushbridge.js" src/main.ts
echo "bundle: $BUILD/pushbridge.js ($(wc -c < "$BUILD/pushbridge.js") bytes)"
# Web Worker entries are modules of their own: a bundle cannot inline them. Each is
# bundled beside pushbridge.js, where the code starting it looks when it runs from a .js
# file (src/image/fit_photo_off_thread.ts); deno compile embeds them with --include.
WORKERS="src/image/photo_worker.ts"
for worker in $WORKERS; do
  "$DENO" bundle --quiet --platform deno --frozen -o "$BUILD/$(basename "$worker" .ts).js" "$worker"
done
INCLUDES=$(for worker in $WORKERS; do printf ' --include %s' "$worker"; done)

# Fetches the pinned deno runtime for a target from the npm registry into the cache
# dir. The exact version comes first; when the registry lacks it for that platform
# (it happens: a release's arm64 package can be missing), the newest published
# patch of the same minor is used, and said.
fetch_runtime() { # arch -> path of the deno executable
  arch=$1
  case $arch in x86_64) pkg=@deno/linux-x64-glibc ;; aarch64) pkg=@deno/linux-arm64-glibc ;; esac
  cache="$BUILD/runtime-$arch"
  if [ -x "$cache/deno" ] && [ -f "$cache/version" ]; then echo "$cache/deno"; return; fi
  rm -rf "$cache.tmp" && mkdir -p "$cache.tmp"
  version=$DENO_VERSION
  if ! (cd "$cache.tmp" && npm pack --silent "$pkg@$version" >/dev/null 2>&1); then
    minor=${DENO_VERSION%.*}
    version=$(npm view "$pkg@~$minor.0" version 2>/dev/null | sed "s|.*'\(.*\)'.*|\1|; s|^$pkg@||; s| .*||" | sort -V | tail -n1)
    if [ -z "$version" ] || ! (cd "$cache.tmp" && npm pack --silent "$pkg@$version" >/dev/null 2>&1); then
      echo "error: $pkg@$DENO_VERSION is not on the npm registry and no $minor.x is either" >&2
      exit 1
    fi
    echo "warning: $pkg@$DENO_VERSION is not on the npm registry; using $pkg@$version for $arch" >&2
  fi
  tar -xzf "$cache.tmp"/*.tgz -C "$cache.tmp"
  rm -rf "$cache" && mkdir -p "$cache"
  mv "$cache.tmp/package/deno" "$cache/deno"
  chmod 0755 "$cache/deno"
  echo "$version" > "$cache/version"
  rm -rf "$cache.tmp"
  echo "$cache/deno"
}

# The fallback artifact: same CLI as the compiled binary.
build_fallback() {
  arch=$1
  runtime=$(fetch_runtime "$arch")
  out="$DIST/pushbridge-$arch-linux-bundle"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin" "$out.tmp/lib"
  cp "$runtime" "$out.tmp/lib/deno"
  cp "$BUILD/pushbridge.js" "$out.tmp/lib/pushbridge.js"
  for worker in $WORKERS; do cp "$BUILD/$(basename "$worker" .ts).js" "$out.tmp/lib/"; done
  sed "s/@PERMISSIONS@/$PERMISSIONS/" appliance/files/pushbridge-wrapper.sh > "$out.tmp/bin/pushbridge"
  chmod 0755 "$out.tmp/bin/pushbridge" "$out.tmp/lib/deno"
  printf 'version=%s\narch=%s\nkind=bundle\nruntime=%s\n' "$VERSION" "$arch" \
    "$(cat "$(dirname "$runtime")/version")" > "$out.tmp/RELEASE"
  rm -rf "$out" && mv "$out.tmp" "$out"
  tar -czf "$out.tar.gz.tmp" -C "$out" . && mv "$out.tar.gz.tmp" "$out.tar.gz"
  echo "fallback: $out (runtime deno $(cat "$(dirname "$runtime")/version"))"
}

# Locates denort for a target; prints nothing when there is none.
find_denort() {
  arch=$1
  triple=$2
  var=$(echo "DENORT_BIN_$arch" | tr '[:lower:]' '[:upper:]')
  eval "candidate=\${$var:-}"
  if [ -z "$candidate" ] && [ -n "$SINGLE" ]; then candidate=${DENORT_BIN:-}; fi
  if [ -n "$candidate" ]; then
    [ -x "$candidate" ] || { echo "error: $var/DENORT_BIN '$candidate' is not an executable" >&2; exit 1; }
    # The full deno binary as DENORT_BIN yields a file that ignores the program.
    if "$candidate" --version 2>/dev/null | grep -q '^deno '; then
      echo "error: '$candidate' is the deno CLI, not denort: use denort-$triple.zip from dl.deno.land" >&2
      exit 1
    fi
    echo "$candidate"
    return
  fi
  cache_dir=${DENO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deno}
  [ -f "$cache_dir/dl/release/v$DENO_VERSION/denort-$triple.zip" ] && echo cache
  return 0
}

status=0
for arch in "$@"; do
  build_fallback "$arch"
  case $arch in x86_64) triple=x86_64-unknown-linux-gnu ;; aarch64) triple=aarch64-unknown-linux-gnu ;; esac
  denort=$(find_denort "$arch" "$triple")
  if [ -z "$denort" ]; then
    var=$(echo "DENORT_BIN_$arch" | tr '[:lower:]' '[:upper:]')
    echo "error: no denort $DENO_VERSION for $triple (dist/pushbridge-$arch-linux not built): set $var=/path/to/denort unzipped from https://dl.deno.land/release/v$DENO_VERSION/denort-$triple.zip, or put that zip into \$DENO_DIR/dl/release/v$DENO_VERSION/; the fallback dist/pushbridge-$arch-linux-bundle was built" >&2
    status=3
    continue
  fi
  rm -f "$DIST/pushbridge-$arch-linux"
  if [ "$denort" = cache ]; then
    "$DENO" compile --quiet --frozen $PERMISSIONS $INCLUDES --target "$triple" -o "$DIST/pushbridge-$arch-linux" src/main.ts
  else
    DENORT_BIN="$denort" "$DENO" compile --quiet --frozen $PERMISSIONS $INCLUDES --target "$triple" \
      -o "$DIST/pushbridge-$arch-linux" src/main.ts
  fi
  echo "compiled: $DIST/pushbridge-$arch-linux"
done

# Self-check of what runs here (the x86_64 build machine): the artifacts answer --version.
if [ "$(uname -m)" = x86_64 ]; then
  for arch in "$@"; do
    [ "$arch" = x86_64 ] || continue
    for exe in "$DIST/pushbridge-x86_64-linux" "$DIST/pushbridge-x86_64-linux-bundle/bin/pushbridge"; do
      [ -x "$exe" ] || continue
      got=$("$exe" --version)
      [ "$got" = "pushbridge $VERSION" ] || { echo "error: $exe --version said '$got'" >&2; exit 1; }
      echo "check: $exe --version = $got"
    done
  done
fi

if [ $status -ne 0 ] && [ "${FIRMWARE_FALLBACK_OK:-}" = 1 ]; then status=0; fi
exit $status
