#!/usr/bin/env bash
# The host tools the image build needs, from Debian, installed only when missing; and arm64
# binaries runnable through qemu-user (binfmt_misc), which mmdebstrap and the stage rely on.
set -euo pipefail
need=()
for pair in mmdebstrap:mmdebstrap arch-test:arch-test mkfs.vfat:dosfstools mcopy:mtools \
            sfdisk:fdisk mkfs.ext4:e2fsprogs xz:xz-utils qemu-aarch64-static:qemu-user-static \
            update-binfmts:binfmt-support flock:util-linux; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing from Debian: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64
fi
