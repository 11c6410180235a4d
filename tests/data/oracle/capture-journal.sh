#!/bin/bash
# capture-journal.sh: what real systemd-journald 252 stores for a service's stdout, per the
# stream rules of spec 06 §6 (pitfall 17). Run as root with the oracle available:
#   SDO=../shared/oracle/sd-oracle tests/data/oracle/capture-journal.sh > tests/data/oracle/journal-252.json
# Output: one JSON object per line, as `journalctl -o json` printed them, service records only.
set -eu
sdo=${SDO:-$(cd "$(dirname "$0")/../../../.." && pwd)/shared/oracle/sd-oracle}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; "$sdo" down >/dev/null 2>&1 || true' EXIT
cat > "$tmp/j-cases.sh" <<'SH'
#!/bin/sh
printf 'plain line\n'
printf '\n'
printf '  lead and trail  \n'
printf '   \n'
printf 'crlf\r\n'
printf 'tab\there\n'
printf 'nul\000after nul\n'
printf '<3>error prefixed\n'
printf '<03>zero padded\n'
printf '<7>debug\n'
printf '<8>eight stays\n'
printf '<99>bad stays\n'
printf '<5>\n'
printf 'caf\351 invalid utf8\n'
printf 'esc \033[1mbold\033[0m\n'
head -c 100000 /dev/zero | tr '\0' 'x'; printf '\n'
printf 'last without newline'
SH
chmod +x "$tmp/j-cases.sh"
cat > "$tmp/j-cases.service" <<'UNIT'
[Unit]
Description=journal capture cases
[Service]
Type=oneshot
ExecStart=/usr/local/bin/j-cases.sh
UNIT
"$sdo" up >/dev/null
"$sdo" cp-in "$tmp/j-cases.sh" /usr/local/bin/ >/dev/null
"$sdo" cp-in "$tmp/j-cases.service" /etc/systemd/system/ >/dev/null
"$sdo" run systemctl daemon-reload
"$sdo" run systemctl start j-cases.service
sleep 1
"$sdo" run journalctl -u j-cases.service -o json --no-pager -a _TRANSPORT=stdout
