"""EnvironmentFile= wildcards (linux/envglob.py)."""

from __future__ import annotations

from pathlib import Path

from pidone.linux.envglob import environment_file_paths


def test_a_wildcard_names_every_match_sorted(tmp_path: Path) -> None:
    d = tmp_path / "kamailio.d"
    d.mkdir()
    for name in ("b.conf", "a.conf", ".hidden"):
        (d / name).write_text("X=1\n")
    assert environment_file_paths(f"{d}/*") == [f"{d}/a.conf", f"{d}/b.conf"]
    assert environment_file_paths(f"{d}/[b]*") == [f"{d}/b.conf"]


def test_no_wildcard_or_no_match_is_the_path_itself(tmp_path: Path) -> None:
    plain = str(tmp_path / "env")
    assert environment_file_paths(plain) == [plain]
    nothing = str(tmp_path / "none.d/*")
    assert environment_file_paths(nothing) == [nothing]  # opening it gives ENOENT
