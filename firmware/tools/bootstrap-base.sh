#!/usr/bin/env bash
# The slow, cached part of the image: Debian bookworm arm64 with the kernel, the initramfs and
# the Raspberry Pi firmware, as a tarball. Everything it reads is in firmware/base/ and the
# stage's 00-packages, which is what build-image hashes to decide whether it must run again.
#   tools/bootstrap-base.sh OUT.tar
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=$1
mirror=${EDGEBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${EDGEBOX_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
components="main non-free-firmware"  # raspi-firmware lives in non-free-firmware

# The kernel is installed last, on its own (tools/install-kernel.sh): its postinst builds the
# initramfs once, with every package's hooks in place. Installed together with the rest, the
# initramfs would be built twice (postinst, then a trigger), each slow under qemu-user.
kernel=linux-image-arm64
packages=$(grep -hv '^#' "$here/base/packages" "$here/stage-edgebox/00-edgebox/00-packages" \
           | tr -s ' \n' '\n' | grep -vx "$kernel" | paste -sd, | sed 's/^,//; s/,$//')

# raspi-firmware writes config.txt/cmdline.txt from /etc/default when the kernel is installed,
# so its settings must be in place before that: the essential hook runs before the includes.
# force-confold: keep the /etc/default files written below when a package ships its own.
mmdebstrap --arch=arm64 --variant=apt --mode=root --format=tar \
  --dpkgopt=force-confold --dpkgopt=force-confdef \
  --include="$packages" \
  --essential-hook="mkdir -p \"\$1/etc/default\" \"\$1/boot/firmware\" \"\$1/etc/initramfs-tools/conf.d\"" \
  --essential-hook="cp '$here/base/raspi-firmware' \"\$1/etc/default/raspi-firmware\"" \
  --essential-hook="cp '$here/base/raspi-extra-cmdline' \"\$1/etc/default/raspi-extra-cmdline\"" \
  --essential-hook="cp '$here/base/initramfs.conf' \"\$1/etc/initramfs-tools/conf.d/edgebox.conf\"" \
  --essential-hook="grep -v '^#' '$here/base/initramfs-modules' >> \"\$1/etc/initramfs-tools/modules\"" \
  --customize-hook="'$here/tools/install-kernel.sh' \"\$1\" $kernel" \
  --customize-hook='test -e "$1"/boot/firmware/config.txt' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm "$out" \
  "deb $mirror bookworm $components" \
  "deb $mirror bookworm-updates $components" \
  "deb $security bookworm-security $components"
