#!/bin/sh
# make image-test: builds the amd64 image when missing, boots it under qemu
# (software emulation; several minutes) and checks the setup page and a FolderSync
# against the harness mailstore from inside the VM. Kept out of `make test`.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DENO=${DENO:-$ROOT/.tools/node_modules/.bin/deno}
for tool in qemu-system-x86_64 mcopy; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is missing: apt-get install qemu-system-x86 ovmf mtools" >&2; exit 1; }
done
[ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || { echo "error: UEFI firmware missing: apt-get install ovmf" >&2; exit 1; }
[ -f dist/pushbridge-amd64.img ] || appliance/build_image.sh amd64
exec "$DENO" run --allow-all --unsafely-ignore-certificate-errors=127.0.0.1 tests/appliance/image_boot.ts dist/pushbridge-amd64.img
