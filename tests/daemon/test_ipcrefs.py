"""daemon.ipcrefs: when RemoveIPC= cleans up (systemd 252's UID/GID reference counts)."""

from __future__ import annotations

from pidone.daemon.ipcrefs import IpcReferences


def _refs() -> tuple[IpcReferences, list[tuple[int, int]]]:
    cleaned: list[tuple[int, int]] = []

    def clean(uid: int, gid: int) -> int:
        cleaned.append((uid, gid))
        return 1

    return IpcReferences(clean), cleaned


def test_the_last_unit_of_a_user_cleans_when_one_of_them_asked() -> None:
    refs, cleaned = _refs()
    refs.ref("a.service", 1000, 1000, remove_ipc=True)
    refs.ref("b.service", 1000, 1001, remove_ipc=False)
    refs.ref("a.service", 1000, 1000, remove_ipc=True)  # a later command: no second reference
    assert refs.unref("a.service") == 1  # gid 1000 was a's alone
    assert cleaned == [(-1, 1000)]
    assert refs.unref("b.service") == 1  # uid 1000: the last reference, marked by a
    assert cleaned == [(-1, 1000), (1000, -1)]  # gid 1001 was never marked
    assert refs.unref("b.service") == 0  # (dead twice: nothing held)


def test_no_mark_no_clean_and_root_is_never_counted() -> None:
    refs, cleaned = _refs()
    refs.ref("plain.service", 1000, 1000, remove_ipc=False)
    refs.ref("root.service", 0, 0, remove_ipc=True)
    assert refs.unref("plain.service") == 0
    assert refs.unref("root.service") == 0
    assert cleaned == []
    refs.ref("again.service", 1000, -1, remove_ipc=True)  # counts start afresh
    assert refs.unref("again.service") == 1
    assert cleaned == [(1000, -1)]
