#!/bin/bash -e
# edgebox on top of a Debian (or Raspberry Pi OS) root file system, pi-gen style: run from this
# directory with ROOTFS_DIR set and on_chroot defined (pi-gen provides both; so does
# firmware/build-image). files/ is copied over the root; edgebox_*.deb is the package
# scripts/build-deb makes, whose postinst builds /opt/edgebox/venv from the wheels it carries,
# without reaching PyPI, and creates the edgebox user.
cd "$(dirname "$0")"

cp -a --no-preserve=ownership files/. "${ROOTFS_DIR}/"
cp edgebox_*_arm64.deb "${ROOTFS_DIR}/tmp/edgebox.deb"

on_chroot << 'CHROOT'
# Its Depends (python3-venv, espeak-ng, sox …) are in 00-packages and the base: dpkg -i
# resolves none (tests/test_firmware_stage.py keeps the lists in step).
dpkg -i /tmp/edgebox.deb
rm -f /tmp/edgebox.deb
CHROOT

# Read-only root: everything written lives on /data (the last partition) and is bound where
# programs expect it (see files/etc/fstab); the time zone link points there too.
mkdir -p "${ROOTFS_DIR}/data" "${ROOTFS_DIR}/etc/edgebox" "${ROOTFS_DIR}/var/lib/edgebox"
ln -sfn /etc/edgebox/localtime "${ROOTFS_DIR}/etc/localtime"
# Mobile data: the peer generated from edgebox.txt's APN, also for a technician's
# `pon edgebox`; pppd's resolv.conf (usepeerdns) is written to edgebox-ppp.service's /run dir.
mkdir -p "${ROOTFS_DIR}/etc/ppp/peers"
ln -sfn /etc/edgebox/ppp/edgebox "${ROOTFS_DIR}/etc/ppp/peers/edgebox"
ln -sfn /run/edgebox-ppp/resolv.conf "${ROOTFS_DIR}/etc/ppp/resolv.conf"
: > "${ROOTFS_DIR}/etc/machine-id"  # empty: systemd makes a fresh one per boot in RAM

units=$(grep -v '^#' enable)
if ! on_chroot -c '/opt/edgebox/venv/bin/edgebox upload now --help' >/dev/null 2>&1; then
  echo "edgebox has no 'upload now': edgebox-upload.timer left out"
  units=$(echo "$units" | grep -v '^edgebox-upload')
  rm -f "${ROOTFS_DIR}"/lib/systemd/system/edgebox-upload.*
fi
on_chroot -c "systemctl enable $(echo $units)"
on_chroot -c "systemctl mask $(grep -v '^#' mask | tr '\n' ' ')"
on_chroot -c "systemctl set-default multi-user.target"
