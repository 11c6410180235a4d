# capture-lib.sh: what every capture-*.sh here shares; sourced by them, not run.
# `cap CMD...` runs CMD inside sd-oracle (real systemd 252) and prints it as a console block
# with its stdout, its stderr and its exit code. The oracle goes down when the script exits.
sdo=${SDO:-/work/shared/oracle/sd-oracle}
errf=$(mktemp)
trap 'rm -f "$errf"; "$sdo" down >/dev/null 2>&1' EXIT
cap() {
    local out rc
    out=$("$sdo" run "$@" 2>"$errf")
    rc=$?
    printf '```console\n$ %s\n' "$*"
    [ -n "$out" ] && printf '%s\n' "$out"
    if [ -s "$errf" ]; then
        printf '[stderr]\n%s\n' "$(cat "$errf")"
    fi
    printf '[exit code: %d]\n```\n\n' "$rc"
}
