"""The pure pstree renderer against outputs captured from psmisc pstree 23.6 (spec 07 §2.5)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pidone.core.render import pstree, pstree_views
from pidone.core.render.pstree import ASCII, UTF8, ProcStat, ProcTree, TreeOptions, parse_args


def _spec_table() -> ProcTree:
    """The `pstree 5411` session of spec 07 §2.5."""
    stats = [
        ProcStat(5411, 5000, 5411, 0, b"bash"),
        ProcStat(5412, 5411, 5411, 100, b"sleep"),
        ProcStat(5413, 5411, 5411, 101, b"sleep"),
        ProcStat(5414, 5411, 5414, 0, b"script"),
        ProcStat(5415, 5411, 5415, 0, b"python3", nthreads=4),
        ProcStat(5418, 5414, 5418, 0, b"sleep"),
        ProcStat(5542, 5411, 5542, 0, b"pstree"),
    ]
    tree = ProcTree(stats)
    tree.add_threads(5415, [(5415, None), (5459, None), (5460, None), (5461, None)])
    shown = (
        b"import threading,time\n[threading.Thread(target=time.sleep,args=(300,),daemon=True).start"
    )
    program = shown + b"() for _ in range(3)]\ntime.sleep(300)\n"
    # a long argv[0] (an interpreter path) makes the 133-byte read stop right after "start"
    argv0 = b"/" + b"p" * (132 - len(b"\0-c\0") - len(shown) - 1)
    cmdlines = {
        5411: b"bash\0t2.sh\0",
        5412: b"sleep\x00300\0",
        5413: b"sleep\x00300\0",
        5414: b"script\0-qfc\0sleep 300\0/dev/null\0",
        5415: argv0 + b"\0-c\0" + program + b"\0",
        5418: b"sleep\x00300\0",
        5542: b"pstree\0-a\x005411\0",
    }
    for pid, raw in cmdlines.items():
        tree.set_cmdline(pid, raw[: pstree.cmdline_limit(132, True)])
    return tree


def test_default_merges_identical_siblings_and_threads() -> None:
    assert _spec_table().render(5411, TreeOptions()) == (
        "bash-+-pstree\n     |-python3---3*[{python3}]\n     |-script---sleep\n     `-2*[sleep]\n"
    )


def test_show_pids_turns_merging_off() -> None:
    assert _spec_table().render(5411, TreeOptions(show_pids=True)) == (
        "bash(5411)-+-pstree(5542)\n"
        "           |-python3(5415)-+-{python3}(5459)\n"
        "           |               |-{python3}(5460)\n"
        "           |               `-{python3}(5461)\n"
        "           |-script(5414)---sleep(5418)\n"
        "           |-sleep(5412)\n"
        "           `-sleep(5413)\n"
    )


def test_unicode_drawing() -> None:
    assert _spec_table().render(5411, TreeOptions(symbols=UTF8, show_pids=True)) == (
        "bash(5411)─┬─pstree(5542)\n"
        "           ├─python3(5415)─┬─{python3}(5459)\n"
        "           │               ├─{python3}(5460)\n"
        "           │               └─{python3}(5461)\n"
        "           ├─script(5414)───sleep(5418)\n"
        "           ├─sleep(5412)\n"
        "           └─sleep(5413)\n"
    )


def test_uid_changes_name_the_new_user_and_stop_merging_across_users() -> None:
    names = {100: "systemd-timesync", 101: "systemd-network"}
    text = _spec_table().render(
        5411, TreeOptions(show_pids=True, uid_changes=True, user_names=names)
    )
    assert text.endswith(
        "           |-sleep(5412,systemd-timesync)\n           `-sleep(5413,systemd-network)\n"
    )
    merged = _spec_table().render(5411, TreeOptions(uid_changes=True, user_names=names))
    assert "`-2*[sleep]" not in merged
    assert merged.endswith("|-sleep(systemd-timesync)\n     `-sleep(systemd-network)\n")


def test_arguments_one_node_per_line_threads_merged_args_cut_at_the_width() -> None:
    assert _spec_table().render(5411, TreeOptions(show_args=True)) == (
        "bash t2.sh\n"
        "  |-pstree -a 5411\n"
        "  |-python3 -cimport threading,time\\012[threading.Thread(target=time.sleep,"
        "args=(300,),daemon=True).start\n"
        "  |   `-3*[{python3}]\n"
        "  |-script -qfc sleep 300 /dev/null\n"
        "  |   `-sleep 300\n"
        "  |-sleep 300\n"
        "  `-sleep 300\n"
    )


def test_arguments_with_pids_use_a_comma() -> None:
    text = _spec_table().render(5411, TreeOptions(show_args=True, show_pids=True))
    assert text.startswith("bash,5411 t2.sh\n  |-pstree,5542 -a 5411\n")


def test_closing_brackets_on_every_leaf_line_of_a_merged_subtree() -> None:
    stats = [ProcStat(7337, 1, 7337, 0, b"bash")]
    pid = 7338
    for _ in range(2):
        shell = pid
        stats.append(ProcStat(shell, 7337, shell, 0, b"bash"))
        stats.append(ProcStat(shell + 1, shell, shell, 0, b"sleep"))
        stats.append(ProcStat(shell + 2, shell, shell, 0, b"tail"))
        pid += 3
    stats.append(ProcStat(pid, 7337, pid, 0, b"pstree"))
    tree = ProcTree(stats)
    assert tree.render(7337, TreeOptions()) == (
        "bash-+-2*[bash-+-sleep]\n     |         `-tail]\n     `-pstree\n"
    )


def test_nested_merges_close_twice() -> None:
    stats = [ProcStat(1, 0, 1, 0, b"init")]
    for shell in (10, 20):
        stats.append(ProcStat(shell, 1, shell, 0, b"bash"))
        stats += [ProcStat(shell + k, shell, shell, 0, b"sleep") for k in (1, 2)]
    assert ProcTree(stats).render(1, TreeOptions()) == "init---2*[bash---2*[sleep]]\n"


def test_truncation_replaces_the_last_column_by_plus() -> None:
    stats = [
        ProcStat(7337, 1, 7337, 0, b"bash"),
        ProcStat(7340, 7337, 7340, 0, b"bash"),
        ProcStat(7341, 7340, 7340, 0, b"sleep"),
        ProcStat(7342, 7340, 7340, 0, b"sleep"),
        ProcStat(7343, 7337, 7343, 0, b"pstree"),
    ]
    text = ProcTree(stats).render(7337, TreeOptions(width=30, show_pids=True))
    assert text.splitlines()[0] == "bash(7337)-+-bash(7340)-+-sle+"
    assert all(len(line) <= 30 for line in text.splitlines())


def test_truncation_prints_one_plus_per_byte_of_a_wide_character() -> None:
    stats = [ProcStat(10, 1, 10, 0, b"bash"), ProcStat(11, 10, 10, 0, b"sleep")]
    # "bash(10)" is 8 columns; the next character is U+2500, three bytes in UTF-8
    text = ProcTree(stats).render(10, TreeOptions(width=9, symbols=UTF8, show_pids=True))
    assert text == "bash(10)+++\n"


def test_a_label_past_the_width_stops_the_descent() -> None:
    stats = [ProcStat(10, 1, 10, 0, b"averyveryverylongname"), ProcStat(11, 10, 10, 0, b"child")]
    assert ProcTree(stats).render(10, TreeOptions(width=10)) == "averyvery+\n"


def test_long_lines_kept_with_truncation_off() -> None:
    stats = [ProcStat(10, 1, 10, 0, b"a" * 15), ProcStat(11, 10, 10, 0, b"b" * 15)]
    tree = ProcTree(stats)
    assert (
        tree.render(10, TreeOptions(width=10, truncate=False)) == "a" * 15 + "---" + "b" * 15 + "\n"
    )


def test_names_sort_bytewise_then_by_uid_then_by_arrival() -> None:
    stats = [
        ProcStat(1, 0, 1, 0, b"init"),
        ProcStat(5, 1, 5, 1000, b"b"),
        ProcStat(6, 1, 6, 0, b"b"),
        ProcStat(7, 1, 7, 0, b"B"),
        ProcStat(8, 1, 8, 1000, b"b"),
        ProcStat(9, 1, 9, 0, b"{x}"),
    ]
    tree = ProcTree(stats)
    text = tree.render(1, TreeOptions(show_pids=True))
    assert [line.rsplit("-", 1)[1] for line in text.splitlines()] == [
        "B(7)",
        "b(6)",
        "b(5)",
        "b(8)",
        "{x}(9)",
    ]
    by_pid = ProcTree(stats).render(1, TreeOptions(show_pids=True), by_pid=True)
    assert [line.rsplit("(", 1)[1] for line in by_pid.splitlines()] == [
        "5)",
        "6)",
        "7)",
        "8)",
        "9)",
    ]


def test_thread_names_use_the_process_comm_unless_given() -> None:
    tree = ProcTree([ProcStat(10, 1, 10, 0, b"app", nthreads=3)])
    tree.add_threads(10, [(10, None), (11, b"worker"), (12, None)])
    assert (
        tree.render(10, TreeOptions(show_pids=True))
        == "app(10)-+-{app}(12)\n        `-{worker}(11)\n"
    )


def test_missing_parents_become_question_marks_under_the_root_newest_first() -> None:
    stats = [
        ProcStat(1, 0, 1, 0, b"init"),
        ProcStat(50, 40, 50, 0, b"x"),
        ProcStat(60, 30, 60, 0, b"y"),
        ProcStat(70, 1, 70, 0, b"z"),
    ]
    assert ProcTree(stats).render(1, TreeOptions(show_pids=True)) == (
        "init(1)-+-?(30)---y(60)\n        |-?(40)---x(50)\n        `-z(70)\n"
    )


def test_show_parents_keeps_only_the_chain() -> None:
    tree = _spec_table()
    assert tree.trim_to_parents(5418)
    assert (
        tree.render(5411, TreeOptions(show_pids=True))
        == "bash(5411)---script(5414)---sleep(5418)\n"
    )
    assert not ProcTree([ProcStat(1, 0, 1, 0, b"init")]).trim_to_parents(99)


def test_user_trees_are_topmost_processes_of_the_user() -> None:
    stats = [
        ProcStat(1, 0, 1, 0, b"init"),
        ProcStat(2, 1, 2, 1000, b"sshd"),
        ProcStat(3, 2, 3, 1000, b"bash"),
        ProcStat(4, 1, 4, 0, b"cron"),
        ProcStat(5, 4, 5, 1000, b"job"),
    ]
    tree = ProcTree(stats)
    assert tree.user_roots(1000) == [5, 2]
    assert tree.render_user(1000, TreeOptions()) == "job\n\nsshd---bash\n"
    assert tree.render_user(4242, TreeOptions()) is None


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        (b"sleep\x00300\0", 133, (b"300", b"")),
        (b"", 133, ()),  # kernel thread or zombie: "(comm)"
        (b"nonul", 133, None),  # nothing printed
        (b"prog\0\0x\0", 133, (b"", b"x")),  # NUL runs count once, pointers step per NUL
        (b"python3\0-c\0import os\0", 16, (b"-c", b"impo")),  # cut: no empty tail
    ],
)
def test_parse_args_follows_set_args(raw: bytes, limit: int, expected: object) -> None:
    assert parse_args(raw, limit) == expected


def test_empty_cmdline_is_parenthesised_in_argument_mode() -> None:
    tree = ProcTree([ProcStat(10, 1, 10, 0, b"sh"), ProcStat(11, 10, 10, 0, b"true")])
    tree.set_cmdline(10, b"sh\0")
    tree.set_cmdline(11, b"")
    assert tree.render(10, TreeOptions(show_args=True, show_pids=True)) == "sh,10\n  `-(true,11)\n"


def test_names_are_escaped_like_psmisc() -> None:
    assert pstree.escape_name(b"sl eep) (x") == "sl eep) (x"
    assert pstree.escape_name(b"w\xc3\xa9\\ird\t") == "w\\303\\251\\\\ird\\011"


def test_unit_mode_groups_processes_under_their_units() -> None:
    stats = [
        ProcStat(1, 0, 1, 0, b"init"),
        ProcStat(10, 1, 10, 0, b"nginx"),
        ProcStat(11, 10, 10, 33, b"nginx"),
        ProcStat(12, 10, 10, 33, b"nginx"),
        ProcStat(20, 1, 20, 0, b"cron"),
        ProcStat(21, 20, 21, 0, b"backup"),
    ]
    units = {10: "nginx.service", 11: "nginx.service", 12: "nginx.service", 20: "cron.service"}
    text = pstree_views.render_units(ProcTree(stats), [1], units, TreeOptions(symbols=ASCII))
    assert text == (
        "cron.service---cron\n"
        "nginx.service---nginx---2*[nginx]\n"
        "(no unit)-+-backup\n"
        "          `-init\n"
    )
    doc = json.loads(pstree_views.to_json(ProcTree(stats), [1], units))
    assert [group["unit"] for group in doc] == ["cron.service", "nginx.service", None]
    assert [p["pid"] for p in doc[1]["processes"][0]["children"]] == [11, 12]
    tree = ProcTree(stats)
    tree.add_threads(20, [(20, None), (25, None)])
    (cron,) = json.loads(pstree_views.to_json(tree, [1], units))[0]["processes"]
    assert [(k["kind"], k["unit"]) for k in cron["children"]] == [("thread", "cron.service")]


def test_json_tree_is_unmerged_and_complete() -> None:
    doc = json.loads(pstree_views.to_json(_spec_table(), [5411], None))
    (root,) = doc
    assert root["pid"] == 5411
    assert root["cmdline"] == ["bash", "t2.sh"]
    names = [c["name"] for c in root["children"]]
    assert names == ["pstree", "python3", "script", "sleep", "sleep"]
    assert [t["kind"] for t in root["children"][1]["children"]] == ["thread"] * 3


@st.composite
def _tables(draw: st.DrawFn) -> list[ProcStat]:
    n = draw(st.integers(1, 40))
    names = st.sampled_from([b"a", b"b", b"sleep", b"x y)", b"\xff", b"{t}"])
    stats = [ProcStat(1, 0, 1, 0, b"init")]
    for pid in range(2, n + 2):
        parent = (
            draw(st.integers(1, pid - 1)) if draw(st.booleans()) else draw(st.integers(1, n + 5))
        )
        stats.append(ProcStat(pid, parent, pid, draw(st.sampled_from([0, 1000])), draw(names)))
    return stats


def _reachable(stats: list[ProcStat]) -> set[int]:
    """Ids pstree shows under PID 1: processes, and "?" placeholders for unknown parents."""
    parent = {s.pid: (0 if s.ppid == s.pid else s.ppid) for s in stats}
    for ppid in list(parent.values()):
        if ppid not in parent and ppid not in (0, 1):
            parent[ppid] = 1  # fix_orphans()
    shown = set()
    for pid in parent:
        seen, cur = set(), pid
        while cur not in (0, 1) and cur not in seen:
            seen.add(cur)
            cur = parent.get(cur, 0)
        if cur == 1:
            shown.add(pid)
    return shown


@settings(max_examples=150, deadline=None)
@given(_tables(), st.integers(5, 60))
def test_every_process_shown_once_and_lines_fit_the_width(
    stats: list[ProcStat], width: int
) -> None:
    long_text = ProcTree(stats).render(1, TreeOptions(show_pids=True, truncate=False))
    shown = [int(part.split(")")[0]) for part in long_text.replace("(", " (").split(" (")[1:]]
    assert sorted(shown) == sorted(_reachable(stats))
    for opts in (TreeOptions(width=width), TreeOptions(width=width, symbols=UTF8, show_pgids=True)):
        for line in ProcTree(stats).render(1, opts).splitlines():
            assert len(line.replace("+++", "+")) <= width
