#!/usr/bin/env bash
# The image's base tarball from a cache shared by every checkout on this machine, made by
# BOOTSTRAP (a command given the tarball path to write) only when no fresh one is there.
#   tools/cached-base.sh CACHE_DIR KEY BOOTSTRAP...     -> prints the tarball's path
# The base takes 5-20 minutes on two cores and depends only on what KEY hashes (the package
# lists, firmware/base/, the bootstrap scripts), so a fresh clone, or a second checkout,
# need not make it again. A base older than EDGEBOX_BASE_MAX_DAYS (7) is made again, so an
# image never ships much older Debian security updates than a build from nothing would.
# Two builds at once (two checkouts, two test runs) share one bootstrap: the second waits on
# the cache's lock and then finds the tarball. The KEPT bases used last stay (a checkout of
# another branch keeps its own), older ones are deleted (about 800 MB each).
set -euo pipefail
cache=$1 key=$2
shift 2
max_days=${EDGEBOX_BASE_MAX_DAYS:-7}
KEPT=3
mkdir -p "$cache"
exec 8>"$cache/.lock"
flock 8
base=$cache/base-$key.tar
# Left by an interrupted bootstrap (nobody else writes here while we hold the lock).
rm -f "$cache"/*.part
log() { echo "build-image: $(date +%H:%M:%S) $*" >&2; }  # build-image's progress lines
if [ -f "$base" ] && [ -z "$(find "$base" -mmin +$((max_days * 24 * 60)))" ]; then
  log "base $key cached in $cache"
else
  log "bootstrapping the base $key (the slow part: 5-20 minutes)"
  "$@" "$base.part" >&2
  mv "$base.part" "$base"
fi
# A base's age is when it was written (its mtime); its last use is its access time.
touch -a "$base"
ls -1tu "$cache"/base-*.tar | tail -n +$((KEPT + 1)) | xargs -r rm -f
echo "$base"
