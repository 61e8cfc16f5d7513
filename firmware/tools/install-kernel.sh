#!/bin/sh
# mmdebstrap customize hook: install the kernel into the root at $1 as the very last package,
# so its postinst builds the initramfs once with every package's hooks in place.
# systemd-resolved has made /etc/resolv.conf a link into /run by now: lend the chroot the host's
# resolver for the download, then put the link back.
set -eu
root=$1
kernel=$2
mv "$root/etc/resolv.conf" "$root/etc/resolv.conf.edgebox"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
status=0
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$kernel" || status=$?
rm -f "$root/etc/resolv.conf"
mv "$root/etc/resolv.conf.edgebox" "$root/etc/resolv.conf"
exit $status
