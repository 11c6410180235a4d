"""The `pids` answer is used only when well-formed and from the client's PID namespace."""

from __future__ import annotations

import os

from pidone.cli.procunits import parse_answer, read_daemon_units

NS = "pid:[4026531836]"


def test_answer_from_the_same_namespace_maps_pids_to_units() -> None:
    answer = {"pids": [[7, "a.service"], [9, "b.service"]], "pidns": NS}
    assert parse_answer(answer, NS) == {7: "a.service", 9: "b.service"}


def test_answer_from_another_namespace_or_unknown_namespace_is_ignored() -> None:
    answer = {"pids": [[7, "a.service"]], "pidns": "pid:[4026532000]"}
    assert parse_answer(answer, NS) is None
    assert parse_answer({"pids": [[7, "a.service"]], "pidns": ""}, "") is None


def test_malformed_answers_are_ignored() -> None:
    for bad in (
        None,
        [],
        {"pidns": NS},
        {"pids": {"7": "a.service"}, "pidns": NS},
        {"pids": [[7]], "pidns": NS},
        {"pids": [["7", "a.service"]], "pidns": NS},
        {"pids": [[True, "a.service"]], "pidns": NS},
        {"pids": [[7, None]], "pidns": NS},
    ):
        assert parse_answer(bad, NS) is None, bad


def test_no_socket_file_means_no_daemon(tmp_path) -> None:
    assert read_daemon_units(str(tmp_path)) is None
    (tmp_path / "control.sock").write_text("")  # a regular file is not a daemon
    assert read_daemon_units(str(tmp_path)) is None


def test_a_socket_nobody_listens_on_means_no_daemon(tmp_path) -> None:
    import socket

    path = str(tmp_path / "control.sock")
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(path)  # bound, not listening: connect() is refused
        assert os.path.exists(path)
        assert read_daemon_units(str(tmp_path)) is None
    finally:
        s.close()
