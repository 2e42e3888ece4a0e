#!/bin/sh
# abi_growth.sh BINDIR LIBA_V2_DIR [CALLS] - abi-repro's builds, measured
# (issue 4): the good and fixed builds stay flat, the mismatched ones (static
# link with A v2's archive, and the good binary run against A v2's shared
# object through LD_LIBRARY_PATH - same soname) grow steadily per call, for
# both variants of the ABI break.  Prints the figures.
set -eu

bin=${1:?usage: abi_growth.sh BINDIR LIBA_V2_DIR [CALLS]}
v2dir=${2:?usage: abi_growth.sh BINDIR LIBA_V2_DIR [CALLS]}
calls=${3:-20000}

. "$(dirname "$0")/lib.sh"

# field LINE NAME -> value of NAME=value in a result line
field() {
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# run LABEL EXPECT(flat|grow) VARIANT command...
run() {
    label=$1 expect=$2 variant=$3
    shift 3
    out=$("$@" --calls "$calls" --variant "$variant" --quiet) ||
        fail "$label variant $variant: abi-repro failed"
    line=$(printf '%s\n' "$out" | grep '^result ') ||
        fail "$label variant $variant: no result line in: $out"
    heap=$(field "$line" heap_bytes_per_call)
    rss=$(field "$line" rss_bytes_per_call)
    objs=$(field "$line" liba_objects_per_call)
    hdr=$(field "$line" header)
    rt=$(field "$line" runtime)
    printf '%-22s variant %s  a.h v%s, liba v%s  heap %8s B/call  rss %8s B/call  liba objects %5s/call\n' \
        "$label" "$variant" "$hdr" "$rt" "$heap" "$rss" "$objs"
    case $expect in
    flat)
        # Flat: within 8 bytes per call either way (allocator noise), and
        # nothing left in A's registry.
        awk -v h="$heap" 'BEGIN { exit !(h < 8 && h > -8) }' ||
            fail "$label variant $variant: heap grows $heap B/call, expected flat"
        awk -v o="$objs" 'BEGIN { exit !(o == 0) }' ||
            fail "$label variant $variant: $objs liba objects/call left behind"
        ;;
    grow)
        # Four library-A objects per call are left (two per side); at
        # least 64 bytes each.
        awk -v h="$heap" 'BEGIN { exit !(h >= 256) }' ||
            fail "$label variant $variant: heap grows only $heap B/call"
        awk -v o="$objs" 'BEGIN { exit !(o >= 3.9) }' ||
            fail "$label variant $variant: only $objs liba objects/call left"
        [ "$hdr" = 1 ] && [ "$rt" = 2 ] ||
            fail "$label variant $variant: expected a.h v1 with liba v2, got v$hdr/v$rt"
        ;;
    esac
}

for variant in 1 2; do
    run good flat "$variant" "$bin/abi-repro-good"
    run mismatch-static grow "$variant" "$bin/abi-repro-mismatch"
    run mismatch-shared-swap grow "$variant" \
        env LD_LIBRARY_PATH="$v2dir" "$bin/abi-repro-good"
    run fixed flat "$variant" "$bin/abi-repro-fixed"
done
echo "PASS"
