#!/bin/bash -e
# edgebox on top of a Debian (or Raspberry Pi OS) root file system, pi-gen style: run from this
# directory with ROOTFS_DIR set and on_chroot defined (pi-gen provides both; so does
# firmware/build-image). files/ is copied over the root; files/wheels/ holds the edgebox wheel
# and its dependencies, installed into /opt/edgebox/venv without reaching PyPI.
cd "$(dirname "$0")"

cp -a --no-preserve=ownership files/. "${ROOTFS_DIR}/"
rm -rf "${ROOTFS_DIR}/wheels"
mkdir -p "${ROOTFS_DIR}/tmp/edgebox-wheels"
cp files/wheels/*.whl "${ROOTFS_DIR}/tmp/edgebox-wheels/"

on_chroot << 'CHROOT'
python3 -m venv /opt/edgebox/venv
/opt/edgebox/venv/bin/pip install --quiet --no-index --no-cache-dir --disable-pip-version-check \
    --find-links /tmp/edgebox-wheels 'edgebox[pi]'
rm -rf /tmp/edgebox-wheels
# The root file system is read-only at run time: compile now, nothing is written later.
/opt/edgebox/venv/bin/python -m compileall -q /opt/edgebox/venv/lib >/dev/null || true
systemd-sysusers
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
  rm -f "${ROOTFS_DIR}"/etc/systemd/system/edgebox-upload.*
fi
on_chroot -c "systemctl enable $(echo $units)"
on_chroot -c "systemctl mask $(grep -v '^#' mask | tr '\n' ' ')"
on_chroot -c "systemctl set-default multi-user.target"
