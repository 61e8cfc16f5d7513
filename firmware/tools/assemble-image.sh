#!/usr/bin/env bash
# Lay out the SD card image from a root file system, without mounting anything (loop devices,
# device-mapper and vfat mounts are not available everywhere the image is built):
#   p1  FAT32 "RASPIFIRM"  the Pi firmware, kernel, initrd, config.txt, edgebox.txt   256 MiB
#   p2  ext4  "EDGEROOT"   the read-only root file system                            fitted
#   p3  ext4  "EDGEDATA"   the writable data (database, config); grows at first boot  128 MiB
#   tools/assemble-image.sh ROOTFS WORKDIR OUT.img PYTHON
set -euo pipefail
rootfs=$1 work=$2 image=$3 python=$4
repo=$(cd "$(dirname "$0")/../.." && pwd)
boot_mib=256 data_mib=128 first_mib=4  # 4 MiB alignment suits SD cards' erase blocks

# The FAT partition's content leaves the root file system (/boot/firmware is its mountpoint).
bootfs=$work/bootfs
rm -rf "$bootfs"; mkdir -p "$bootfs"
cp -a "$rootfs/boot/firmware/." "$bootfs/"
find "$rootfs/boot/firmware" -mindepth 1 -delete
PYTHONPATH=$repo "$python" -m edgebox provision template "$bootfs/edgebox.txt" \
  --config-txt "$bootfs/config.txt"

# The data partition starts with the directories the fstab binds, owned as the services need.
datafs=$work/datafs
rm -rf "$datafs"; mkdir -p "$datafs/etc/ssh" "$datafs/edgebox"
chmod 700 "$datafs/etc/ssh"
edgebox_ids=$(awk -F: '$1 == "edgebox" {print $3 ":" $4}' "$rootfs/etc/passwd")
chown "$edgebox_ids" "$datafs/edgebox"
chmod 750 "$datafs/edgebox"
cp -a "$rootfs/var/lib/systemd" "$datafs/systemd"
# fake-hwclock starts from the build time rather than 1970 on a box's very first boot.
date -u '+%Y-%m-%d %H:%M:%S' > "$datafs/fake-hwclock.data"

root_mib=$(( $(du -s --block-size=1M "$rootfs" | cut -f1) * 12 / 10 + 64 ))
rm -f "$work"/*.part.img
mkfs.vfat -F 32 -n RASPIFIRM -C "$work/boot.part.img" $((boot_mib * 1024)) >/dev/null
mcopy -s -i "$work/boot.part.img" "$bootfs"/* ::/
mkfs.ext4 -q -F -i 8192 -L EDGEROOT -d "$rootfs" "$work/root.part.img" "${root_mib}M"
mkfs.ext4 -q -F -L EDGEDATA -d "$datafs" "$work/data.part.img" "${data_mib}M"

boot_start=$first_mib root_start=$((first_mib + boot_mib)) data_start=$((first_mib + boot_mib + root_mib))
total=$((data_start + data_mib))
rm -f "$image"
truncate -s "${total}M" "$image"
sfdisk -q "$image" <<TABLE
label: dos
unit: sectors
start=$((boot_start * 2048)), size=$((boot_mib * 2048)), type=c, bootable
start=$((root_start * 2048)), size=$((root_mib * 2048)), type=83
start=$((data_start * 2048)), size=$((data_mib * 2048)), type=83
TABLE
for part in boot:$boot_start root:$root_start data:$data_start; do
  dd if="$work/${part%%:*}.part.img" of="$image" bs=1M seek="${part#*:}" conv=notrunc,sparse \
     status=none
done
rm -f "$work"/*.part.img
echo "assemble-image: $image: boot ${boot_mib} MiB, root ${root_mib} MiB, data ${data_mib} MiB"
