#!/bin/sh
# corrupt_debug.sh - fixture: a copy of a library whose DWARF is corrupt
# (the version of its first unit overwritten), for "corrupt DWARF in one
# library is reported, the rest checked".
#
#   corrupt_debug.sh READELF IN OUT
set -eu
readelf=$1 in=$2 out=$3

cp "$in" "$out"
off=$("$readelf" -S --wide "$out" |
      sed -n 's/.*\] \.debug_info  *[A-Z]*  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p')
test -n "$off"
# The unit header: a 4-byte length, then the 2-byte version.
printf '\377\377' | dd of="$out" bs=1 seek=$((0x$off + 4)) conv=notrunc \
    2>/dev/null
