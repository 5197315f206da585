#!/bin/sh
# make image-test ARCH=amd64|arm64: builds the image when missing, boots it under
# qemu (software emulation; amd64 several minutes, arm64 roughly twice that) and
# checks the setup page, a FolderSync against the harness mailstore from inside
# the VM, and an update plus a broken update that must roll back. Kept out of
# `make test`. amd64 boots through its own UEFI path (OVMF); arm64 boots the
# kernel/initrd/cmdline.txt of its boot partition on qemu's `virt` machine, as the
# Raspberry Pi's GPU firmware does not run in qemu.
set -eu
ARCH=${1:-${ARCH:-amd64}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DENO=${DENO:-$ROOT/.tools/node_modules/.bin/deno}
case $ARCH in
  amd64)
    tools="qemu-system-x86_64 mcopy ssh scp"; packages="qemu-system-x86 ovmf mtools openssh-client"
    [ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || { echo "error: UEFI firmware missing: apt-get install ovmf" >&2; exit 1; } ;;
  arm64) tools="qemu-system-aarch64 mcopy ssh scp"; packages="qemu-system-arm mtools openssh-client" ;;
  *) echo "error: ARCH '$ARCH' is not amd64 or arm64" >&2; exit 2 ;;
esac
for tool in $tools; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is missing: apt-get install $packages" >&2; exit 1; }
done
[ -f "dist/pushbridge-$ARCH.img" ] || appliance/build_image.sh "$ARCH"
# A hard bound on the whole run (boot, checks, two updates), whatever hangs.
LIMIT=${IMAGE_TEST_LIMIT:-$([ "$ARCH" = arm64 ] && echo 5400 || echo 2700)}
exec timeout --kill-after=30 "$LIMIT" "$DENO" run --allow-all --unsafely-ignore-certificate-errors=127.0.0.1 \
  tests/appliance/image_boot.ts "dist/pushbridge-$ARCH.img" "$ARCH"
