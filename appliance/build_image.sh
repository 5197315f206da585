#!/bin/bash
# make image ARCH=amd64|arm64: a bootable disk image built from Debian packages,
# without loop devices or mounts (mkfs.ext4 -d, mtools, sfdisk on a file).
#
#   amd64: GPT | ESP (systemd-boot, kernel, initrd) | root ext4 | data ext4
#   arm64: MBR | FAT boot (Raspberry Pi firmware from raspi-firmware, kernel, initrd) | root | data
#
# Output: dist/pushbridge-<arch>.img (raw; flash with dd or balenaEtcher-style tools).
# Needs root (mmdebstrap, file ownership in the images) and the Debian mirror.
set -euo pipefail

ARCH=${1:-${ARCH:-amd64}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK="$ROOT/dist/.build/image-$ARCH"
OUT="$ROOT/dist/pushbridge-$ARCH.img"
DENO=${DENO:-$ROOT/.tools/node_modules/.bin/deno}
FILES="$ROOT/appliance/files"

case $ARCH in
  amd64) FW_ARCH=x86_64 ; KERNEL=linux-image-amd64 ; BOOT_PKGS=systemd-boot-efi ; BOOTMOUNT=/boot/efi ; COMPONENTS=main ;;
  # raspi-firmware (the Pi's GPU boot firmware) lives in Debian's non-free-firmware component.
  arm64) FW_ARCH=aarch64 ; KERNEL=linux-image-arm64 ; BOOT_PKGS=raspi-firmware ; BOOTMOUNT=/boot/firmware ; COMPONENTS=main,non-free-firmware ;;
  *) echo "error: ARCH '$ARCH' is not amd64 or arm64" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "error: make image needs root (mmdebstrap, file ownership in the images)" >&2; exit 1; }
for tool in mmdebstrap mkfs.ext4 mkfs.vfat mcopy sfdisk; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is missing: apt-get install mmdebstrap e2fsprogs dosfstools mtools fdisk" >&2; exit 1; }
done

# 1. The program: a compiled binary when make firmware made one, else the fallback bundle.
if [ ! -x "dist/pushbridge-$FW_ARCH-linux" ] && [ ! -x "dist/pushbridge-$FW_ARCH-linux-bundle/bin/pushbridge" ]; then
  FIRMWARE_FALLBACK_OK=1 appliance/build_firmware.sh "$FW_ARCH"
fi
rm -rf "$WORK" && mkdir -p "$WORK/release/bin"
if [ -x "dist/pushbridge-$FW_ARCH-linux" ]; then
  cp "dist/pushbridge-$FW_ARCH-linux" "$WORK/release/bin/pushbridge"
  echo "image: using the compiled dist/pushbridge-$FW_ARCH-linux"
else
  cp -a "dist/pushbridge-$FW_ARCH-linux-bundle/." "$WORK/release/"
  echo "image: using the fallback dist/pushbridge-$FW_ARCH-linux-bundle"
fi

# 2. The update key: a development pair made here when none was provided (public half into the image).
"$DENO" run --allow-read --allow-write appliance/update_tool.ts keys appliance/keys

# 3. Minimal Debian with systemd, NTP, mDNS (resolved), firewall, SSH.
# netbase gives /etc/protocols: nft resolves "icmp"/"ipv6-icmp" in the ruleset through
# it, and without it (minbase has none) nftables.service fails at boot.
PACKAGES="$KERNEL,$BOOT_PKGS,systemd,systemd-sysv,systemd-timesyncd,systemd-resolved,udev,dbus,kmod,initramfs-tools,iproute2,nftables,netbase,openssh-server,ca-certificates,e2fsprogs,fdisk,procps"
ROOTFS="$WORK/rootfs"
if [ "$ARCH" != "$(dpkg --print-architecture 2>/dev/null || echo amd64)" ]; then
  # A foreign root file system runs its maintainer scripts through qemu-user (binfmt_misc).
  [ -e "/proc/sys/fs/binfmt_misc/qemu-$FW_ARCH" ] || {
    echo "error: building an $ARCH image here needs binfmt_misc with qemu-$FW_ARCH: apt-get install qemu-user-static binfmt-support (and mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc in a container)" >&2
    exit 1
  }
fi
mmdebstrap --quiet --variant=minbase --mode=root --architectures="$ARCH" --components="$COMPONENTS" --include="$PACKAGES" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  "$SUITE" "$ROOTFS" "$MIRROR"

# 4. Pushbridge in the root file system.
install -d "$ROOTFS/opt/pushbridge" "$ROOTFS/etc/pushbridge" "$ROOTFS/usr/share/doc/pushbridge"
cp -a "$WORK/release/." "$ROOTFS/opt/pushbridge/"
install -m 0644 appliance/keys/update_public.key "$ROOTFS/etc/pushbridge/update-key.pub"
install -m 0644 appliance/README.md "$ROOTFS/usr/share/doc/pushbridge/README.md"
install -m 0755 "$FILES"/sbin/* "$ROOTFS/usr/local/sbin/"
# `pushbridge doctor`, `pushbridge update ...` on the box: the release in use, with the service's settings.
install -m 0755 "$FILES/bin/pushbridge" "$ROOTFS/usr/local/bin/pushbridge"
install -m 0644 "$FILES"/systemd/* "$ROOTFS/etc/systemd/system/"
install -m 0644 "$FILES/etc/nftables.conf" "$ROOTFS/etc/nftables.conf"
# The ruleset is checked with the image's own nft and /etc files (a host check can pass where the box
# fails). qemu-user has no netlink, so a foreign image only gets the file check nft's names rely on.
[ -s "$ROOTFS/etc/protocols" ] || { echo "error: the image has no /etc/protocols (netbase): nft cannot load nftables.conf" >&2; exit 1; }
if [ "$ARCH" = "$(dpkg --print-architecture 2>/dev/null || echo amd64)" ]; then
  chroot "$ROOTFS" /usr/sbin/nft -c -f /etc/nftables.conf || { echo "error: the image's nft rejects nftables.conf" >&2; exit 1; }
fi
install -D -m 0644 "$FILES/etc/journald.conf" "$ROOTFS/etc/systemd/journald.conf.d/pushbridge.conf"
install -D -m 0644 "$FILES/etc/resolved.conf" "$ROOTFS/etc/systemd/resolved.conf.d/pushbridge.conf"
install -D -m 0644 "$FILES/etc/watchdog.conf" "$ROOTFS/etc/systemd/system.conf.d/watchdog.conf"
install -D -m 0644 "$FILES/etc/20-wired.network" "$ROOTFS/etc/systemd/network/20-wired.network"
sed "s|@BOOTMOUNT@|$BOOTMOUNT|" "$FILES/etc/fstab" > "$ROOTFS/etc/fstab"
mkdir -p "$ROOTFS$BOOTMOUNT" "$ROOTFS/var/lib/pushbridge"
echo pushbridge > "$ROOTFS/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tpushbridge\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$ROOTFS/etc/hosts"
# A machine-id of its own on first boot; SSH host keys come from pushbridge-firstboot.
echo uninitialized > "$ROOTFS/etc/machine-id"
rm -f "$ROOTFS"/etc/ssh/ssh_host_*
# Root login only with a key an installer adds; no password.
chroot "$ROOTFS" passwd -l root >/dev/null
chroot "$ROOTFS" useradd --system --home-dir /var/lib/pushbridge/data --no-create-home \
  --shell /usr/sbin/nologin pushbridge
ln -sf /run/systemd/resolve/stub-resolv.conf "$ROOTFS/etc/resolv.conf"
systemctl --root="$ROOTFS" enable systemd-networkd systemd-resolved systemd-timesyncd nftables \
  pushbridge.service pushbridge-firstboot.service pushbridge-banner.service pushbridge-watchdog.timer \
  pushbridge-maintenance.timer pushbridge-update-guard.service pushbridge-update.path >/dev/null 2>&1
systemctl --root="$ROOTFS" mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer >/dev/null 2>&1 || true
VERSION=$(sed -n "s/^version=/pushbridge /p" "$WORK/release/RELEASE" 2>/dev/null || true)

# 5. Boot files.
BOOTDIR="$WORK/boot"
mkdir -p "$BOOTDIR"
KVER=$(basename "$(ls -d "$ROOTFS"/lib/modules/* | sort -V | tail -n1)")
cp "$ROOTFS/boot/vmlinuz-$KVER" "$BOOTDIR/vmlinuz"
cp "$ROOTFS/boot/initrd.img-$KVER" "$BOOTDIR/initrd.img"
CMDLINE="root=LABEL=pbroot ro rootwait quiet"
if [ "$ARCH" = amd64 ]; then
  mkdir -p "$BOOTDIR/EFI/BOOT" "$BOOTDIR/loader/entries"
  cp "$ROOTFS/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$BOOTDIR/EFI/BOOT/BOOTX64.EFI"
  printf 'default pushbridge.conf\ntimeout 0\nconsole-mode keep\n' > "$BOOTDIR/loader/loader.conf"
  printf 'title Pushbridge\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s console=tty0 console=ttyS0,115200\n' \
    "$CMDLINE" > "$BOOTDIR/loader/entries/pushbridge.conf"
else
  # Raspberry Pi 4/5: the GPU firmware reads config.txt and cmdline.txt from the FAT partition.
  cp "$ROOTFS"/usr/lib/raspi-firmware/* "$BOOTDIR/"
  find "$ROOTFS/usr/lib/linux-image-$KVER/broadcom" -name 'bcm27*-rpi-*.dtb' -exec cp {} "$BOOTDIR/" \; 2>/dev/null || true
  find "$ROOTFS/usr/lib/linux-image-$KVER/broadcom" -name 'bcm2712*.dtb' -exec cp {} "$BOOTDIR/" \; 2>/dev/null || true
  printf '[all]\narm_64bit=1\nenable_uart=1\nkernel=vmlinuz\ninitramfs initrd.img followkernel\n' > "$BOOTDIR/config.txt"
  echo "$CMDLINE console=tty0 console=ttyAMA0,115200 console=ttyS0,115200" > "$BOOTDIR/cmdline.txt"
fi
cat > "$BOOTDIR/pushbridge.env.example" <<'EOT'
# Copy to pushbridge.env on this partition before the first boot to preset settings, e.g.
# PUSHBRIDGE_IMAP_URL=imaps://mail.example.com
# PUSHBRIDGE_SMTP_URL=smtp://mail.example.com:587
# PUSHBRIDGE_HOSTNAME=mail.example.com
EOT
if [ -n "${PUSHBRIDGE_PRESEED:-}" ]; then cp "$PUSHBRIDGE_PRESEED" "$BOOTDIR/pushbridge.env"; fi
rm -rf "$ROOTFS/boot/"* # the kernel boots from the FAT partition; /boot stays an empty mount parent
mkdir -p "$ROOTFS$BOOTMOUNT"

# 6. File systems built from directories, then laid into one partitioned image.
MiB=$((1024 * 1024))
BOOT_MB=256
DATA_MB=128
ROOT_MB=$(( $(du -sm "$ROOTFS" | cut -f1) * 5 / 4 + 160 ))
DATADIR="$WORK/data"
mkdir -p "$DATADIR"
rm -f "$WORK"/*.part
mkfs.vfat -C -n PBBOOT -F 32 "$WORK/boot.part" $((BOOT_MB * 1024)) >/dev/null
MTOOLS_SKIP_CHECK=1 mcopy -s -i "$WORK/boot.part" "$BOOTDIR"/* ::/
mkfs.ext4 -q -L pbroot -d "$ROOTFS" -E root_owner=0:0 "$WORK/root.part" "${ROOT_MB}M"
mkfs.ext4 -q -L pbdata -d "$DATADIR" -m 1 "$WORK/data.part" "${DATA_MB}M"

START=1 # MiB
TOTAL_MB=$((START + BOOT_MB + ROOT_MB + DATA_MB + 1))
rm -f "$OUT.tmp"
truncate -s "${TOTAL_MB}M" "$OUT.tmp"
if [ "$ARCH" = amd64 ]; then
  sfdisk -q "$OUT.tmp" <<EOT
label: gpt
start=${START}MiB, size=${BOOT_MB}MiB, type=uefi, name=boot
size=${ROOT_MB}MiB, type=linux, name=root
size=${DATA_MB}MiB, type=linux, name=data
EOT
else
  sfdisk -q "$OUT.tmp" <<EOT
label: dos
start=${START}MiB, size=${BOOT_MB}MiB, type=c, bootable
size=${ROOT_MB}MiB, type=83
size=${DATA_MB}MiB, type=83
EOT
fi
offset=$START
for part in boot root data; do
  dd if="$WORK/$part.part" of="$OUT.tmp" bs=1M seek="$offset" conv=notrunc,sparse status=none
  size=$(( $(stat -c %s "$WORK/$part.part") / MiB ))
  offset=$((offset + size))
done
mv "$OUT.tmp" "$OUT"
rm -f "$WORK"/*.part
echo "image: $OUT ($(du -h --apparent-size "$OUT" | cut -f1), kernel $KVER${VERSION:+, $VERSION})"
