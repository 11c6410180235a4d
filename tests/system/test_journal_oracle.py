"""Service output through pidone's journal vs what real systemd-journald 252 stored.

`tests/data/oracle/journal-252.json` is `journalctl -u j-cases.service -o json -a` from the
sd-oracle (real systemd 252) for the script embedded in
`tests/data/oracle/capture-journal.sh` (regenerate with that script). The same script runs
here under `pidone daemon` as PID 1 of a PID namespace, and `pidone journal -o json -a`
must give the same records: MESSAGE (text, or a byte array when not printable UTF-8),
PRIORITY, _LINE_BREAK and SYSLOG_IDENTIFIER.

One known difference: journald reads a service's stdout from a stream socket with
SO_PASSCRED and cuts a pending line when the writing PID changes (`_LINE_BREAK=pid-change`;
here `tr` writes the long line and the shell its newline). pidone reads a pipe, which
carries no credentials, so that record ends at the newline instead. The comparison maps
`pid-change` to "no break" and says so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

DATA = Path(__file__).resolve().parent.parent / "data" / "oracle"


def _script() -> str:
    text = (DATA / "capture-journal.sh").read_text()
    return re.search(r"<<'SH'\n(.*?)\nSH\n", text, re.S).group(1) + "\n"


def _records(lines: list[str]) -> list[tuple[object, str, str | None, str]]:
    out = []
    for line in lines:
        d = json.loads(line)
        brk = d.get("_LINE_BREAK")
        if brk == "pid-change":
            brk = None  # see the module docstring
        out.append((d["MESSAGE"], d["PRIORITY"], brk, d.get("SYSLOG_IDENTIFIER")))
    return out


def test_stdout_records_match_real_journald(pidone_ns, tmp_path):
    script = tmp_path / "j-cases.sh"
    script.write_text(_script())
    script.chmod(0o755)
    daemon = pidone_ns(
        {
            "j-cases.service": f"[Unit]\nDescription=journal capture cases\n[Service]\n"
            f"Type=oneshot\nExecStart={script}\n"
        }
    )
    result = daemon.cli("start", "j-cases.service")
    assert result.returncode == 0, result.stderr
    out = daemon.cli(
        "journal", "-u", "j-cases.service", "-o", "json", "-a", "SYSLOG_IDENTIFIER=j-cases.sh"
    )
    assert out.returncode == 0, out.stderr
    ours = _records(out.stdout.splitlines())
    theirs = _records((DATA / "journal-252.json").read_text().splitlines())
    assert ours == theirs
