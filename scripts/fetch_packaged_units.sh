#!/usr/bin/env bash
# Re-create tests/data/packaged-units/ from its SOURCES.txt: each unit file, byte for byte,
# out of the Debian package and version named there (apt-get download + dpkg-deb -x; nothing
# is installed). Needs apt-get update first; a version the mirror no longer has fails loudly.
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/tests/data/packaged-units"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 1777 "$tmp"  # apt downloads as its _apt user
grep -v '^#' "$dir/SOURCES.txt" | while read -r unit pkg version path; do
    if [ ! -d "$tmp/$pkg" ]; then
        (cd "$tmp" && apt-get download -qq "$pkg=$version")
        dpkg-deb -x "$tmp/${pkg}_"*.deb "$tmp/$pkg"
    fi
    cp "$tmp/$pkg$path" "$dir/$unit"
done
echo "re-created $(grep -vc '^#' "$dir/SOURCES.txt") unit files in $dir"
