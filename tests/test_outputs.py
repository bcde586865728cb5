"""The output transaction (``io.outputs.Output``): the old results or the new, whole, never a mix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mhsa_bio.errors import InputError
from mhsa_bio.io import outputs
from mhsa_bio.io.outputs import Output


def files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


@pytest.fixture
def old(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old a")
    (out / "b.txt").write_text("old b")
    return out


@pytest.mark.parametrize("exchange", [True, False])
def test_commit_replaces_the_old_folder_whole(old, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    tx = Output(old, force=True)
    work = tx.start()
    assert work != old and work.parent == old.parent and work.name.startswith(".")
    (work / "a.txt").write_text("new a")
    assert files(old) == {"a.txt": "old a", "b.txt": "old b"}  # untouched until the commit
    tx.commit()
    assert files(old) == {"a.txt": "new a"} and beside(old) == []


def test_abort_leaves_the_old_folder_and_removes_the_new(old):
    tx = Output(old, force=True)
    (tx.start() / "a.txt").write_text("half")
    assert tx.abort() is False
    assert files(old) == {"a.txt": "old a", "b.txt": "old b"} and beside(old) == []


def test_existing_folder_needs_force_and_a_file_is_not_a_folder(old, tmp_path):
    with pytest.raises(InputError, match="--force"):
        Output(old, force=False)
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        Output(tmp_path / "f", force=True)
    with pytest.raises(InputError, match="is a folder"):
        Output(old, force=True, kind="file")


def test_the_lock_refuses_a_second_writer_until_the_first_is_done(tmp_path):
    out = tmp_path / "out"
    first = Output(out, force=False)
    first.start()
    second = Output(out, force=False)
    with pytest.raises(InputError, match="another mhsa-bio run"):
        second.start()
    first.commit()
    assert out.is_dir() and beside(out) == []
    third = Output(out, force=True)
    third.start()
    third.commit()


def test_a_swap_cut_in_half_is_undone_and_a_finished_one_cleaned(tmp_path):
    out = tmp_path / "out"
    replaced = tmp_path / ".out.replaced"
    replaced.mkdir()
    (replaced / "a.txt").write_text("old a")  # killed after moving the old folder aside
    tx = Output(out, force=True)
    tx.start()
    tx.abort()
    assert files(out) == {"a.txt": "old a"} and beside(out) == []
    replaced.mkdir()  # killed after the swap, before removing the old folder
    tx = Output(out, force=True)
    tx.start()
    tx.abort()
    assert files(out) == {"a.txt": "old a"} and beside(out) == []


def test_an_unfinished_resumable_folder_is_kept_named_and_resumed(tmp_path):
    out = tmp_path / "out"
    resumable = lambda folder: (folder / "last.pt").exists()  # noqa: E731
    tx = Output(out, force=False, keep_partial=resumable)
    work = tx.start()
    (work / "last.pt").write_text("epoch 1")
    assert tx.abort() is True and (work / "last.pt").exists()
    with pytest.raises(InputError, match=r"\.out\.incomplete.*--resume.*--force"):
        Output(out, force=False, resume=False, keep_partial=resumable).start()
    assert not out.exists()
    tx = Output(out, force=False, resume=True, keep_partial=resumable)
    assert tx.start() == work and files(work) == {"last.pt": "epoch 1"}
    tx.abort()  # nothing new written in this attempt: still kept, it was adopted
    assert work.exists()
    tx = Output(out, force=True, keep_partial=resumable)  # --force starts over
    assert files(tx.start()) == {}
    tx.abort()
    assert beside(out) == []


def test_resume_starts_from_a_copy_of_the_old_folder(old):
    tx = Output(old, force=False, resume=True, keep_partial=lambda f: False)
    work = tx.start()
    assert files(work) == files(old)
    (work / "a.txt").write_text("continued")
    assert (old / "a.txt").read_text() == "old a"
    tx.commit()
    assert files(old) == {"a.txt": "continued", "b.txt": "old b"}


def test_file_outputs_lock_and_clean_stale_temporaries(tmp_path):
    target = tmp_path / "scores.tsv"
    (tmp_path / ".scores.tsv.k2j4h5g6.part").write_text("half")
    (tmp_path / ".scores.tsv.gz.k2j4h5g6.part").write_text("another file's")
    tx = Output(target, force=False, kind="file")
    assert tx.start() == target
    with outputs.atomic_open(target) as handle:
        handle.write("new")
    tx.commit()
    assert target.read_text() == "new"
    assert beside(target) == [".scores.tsv.gz.k2j4h5g6.part"]
    with pytest.raises(InputError, match="--force"):
        Output(target, force=False, kind="file")


def test_read_only_parent_is_a_one_line_input_error(tmp_path):
    import os

    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        if os.access(parent, os.W_OK):
            pytest.skip("running as root: permissions are not enforced")
        with pytest.raises(InputError, match="cannot write"):
            Output(parent / "out", force=False).start()
    finally:
        parent.chmod(0o700)


def test_the_current_folder_is_never_replaced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    for out in (".", "..", str(tmp_path)):
        with pytest.raises(InputError, match="current folder"):
            Output(Path(out), force=True)
    assert (tmp_path / "keep.txt").exists()
    tx = Output(Path("sub"), force=False)  # a relative folder inside it is fine
    (tx.start() / "a.txt").write_text("a")
    tx.commit()
    assert (tmp_path / "sub" / "a.txt").exists()


def test_library_warnings_are_one_line_with_v_and_hidden_without(capsys):
    import warnings

    from mhsa_bio.cli.common import user_errors

    with user_errors(0):
        warnings.warn("numpy said\nsomething", RuntimeWarning, stacklevel=1)
    assert "numpy said" not in capsys.readouterr().err
    with user_errors(1):
        warnings.warn("numpy said\nsomething", RuntimeWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert "RuntimeWarning: numpy said something" in " ".join(err.split())
    assert "warnings.warn" not in err


def test_an_unwritable_parent_is_a_one_line_input_error(tmp_path, monkeypatch):
    import errno
    import os

    real = os.open

    def refuse(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).endswith(".lock"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(InputError, match="cannot write beside it"):
        Output(tmp_path / "out", force=False).start()
    assert not (tmp_path / "out").exists()


def test_after_commit_runs_only_once_the_output_is_in_place(tmp_path):
    import typer

    from mhsa_bio.cli.common import command_context

    seen = []
    out = tmp_path / "out"
    with command_context(verbose=0, out=out) as run:
        (run.out_dir() / "a.txt").write_text("new\n")
        run.after_commit(lambda: seen.append((out / "a.txt").read_text()))
        assert seen == []
    assert seen == ["new\n"]  # ran after the swap: the new file was already at --out

    failed = tmp_path / "failed"
    with pytest.raises(typer.Exit), command_context(verbose=0, out=failed) as run:
        run.out_dir()
        run.after_commit(lambda: seen.append("must not run"))
        raise InputError("bad input")
    assert seen == ["new\n"] and not failed.exists()
