#!/bin/sh
# debug_layouts.sh - fixture: a program's debug info split off the way
# distributions ship it, in every place the debug-file search looks.
#
#   debug_layouts.sh OBJCOPY READELF PROG PROG_NOID OUT
#
# PROG has a build ID, PROG_NOID none (linked with --build-id=none, so its
# debuglink's CRC is what matches it to its debug file).  Under OUT:
#   dotdebug/prog_mix      stripped, debuglink; debug file in .debug/
#   rooted/prog_mix        stripped, debuglink; debug file under the root
#                          root/ plus rooted/'s absolute directory
#   byid/prog_mix          stripped, no debuglink; debug file under the
#                          root idroot/ as .build-id/xx/rest.debug
#   crcok/prog_noid        stripped, debuglink; debug file beside it
#   crcbad/prog_noid       the same, with a debug file from which the CRC
#                          no longer matches (a byte appended)
set -eu
objcopy=$1 readelf=$2 prog=$3 noid=$4 out=$5

rm -rf "$out"
mkdir -p "$out/dotdebug/.debug" "$out/rooted" "$out/byid" "$out/crcok" \
         "$out/crcbad"
out=$(cd "$out" && pwd)

# strip_linked DEBUG_FILE SOURCE TARGET: TARGET is SOURCE without its
# DWARF, pointing to DEBUG_FILE by .gnu_debuglink.
strip_linked() {
    "$objcopy" --strip-debug --add-gnu-debuglink="$1" "$2" "$3"
}

"$objcopy" --only-keep-debug "$prog" "$out/dotdebug/.debug/prog_mix.debug"
strip_linked "$out/dotdebug/.debug/prog_mix.debug" "$prog" \
             "$out/dotdebug/prog_mix"

mkdir -p "$out/root$out/rooted"
"$objcopy" --only-keep-debug "$prog" "$out/root$out/rooted/prog_mix.debug"
strip_linked "$out/root$out/rooted/prog_mix.debug" "$prog" \
             "$out/rooted/prog_mix"

id=$("$readelf" -n "$prog" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p')
test -n "$id"
head=$(printf %s "$id" | cut -c1-2)
rest=$(printf %s "$id" | cut -c3-)
mkdir -p "$out/idroot/.build-id/$head"
"$objcopy" --only-keep-debug "$prog" "$out/idroot/.build-id/$head/$rest.debug"
"$objcopy" --strip-debug "$prog" "$out/byid/prog_mix"

for d in crcok crcbad; do
    "$objcopy" --only-keep-debug "$noid" "$out/$d/prog_noid.debug"
    strip_linked "$out/$d/prog_noid.debug" "$noid" "$out/$d/prog_noid"
done
printf 'x' >> "$out/crcbad/prog_noid.debug"
touch "$out/done.stamp"
