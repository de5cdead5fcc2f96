"""install_files on a temp dir: writes what differs, in one run, and says which paths changed."""

import grp
import os
import pwd
import stat

from module_runner import run_main, run_module

from ansible_collections.halb.loadbalancer.plugins.modules import install_files


def _args(tmp_path, helper="#!/bin/sh\necho one\n", mode="0755", **extra):
    base = {
        "owner": pwd.getpwuid(os.geteuid()).pw_name,
        "group": grp.getgrgid(os.getegid()).gr_name,
        "directories": [str(tmp_path / "dropin.d")],
        "files": {
            str(tmp_path / "helper"): helper,
            str(tmp_path / "dropin.d" / "halb.conf"): "[Service]\nRestartSec=3\n",
        },
        "mode": mode,
    }
    base.update(extra)
    return base


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_install_then_nothing_to_change(tmp_path):
    first = run_module(install_files, _args(tmp_path))
    assert first["changed"] is True
    assert first["changed_paths"] == [str(tmp_path / p) for p in ("dropin.d", "helper", "dropin.d/halb.conf")]
    assert (tmp_path / "helper").read_text() == "#!/bin/sh\necho one\n"
    assert (_mode(tmp_path / "helper"), _mode(tmp_path / "dropin.d" / "halb.conf")) == (0o755, 0o755)
    assert _mode(tmp_path / "dropin.d") == 0o755
    second = run_module(install_files, _args(tmp_path))
    assert (second["changed"], second["changed_paths"]) == (False, [])


def test_only_what_differs_changes(tmp_path):
    run_module(install_files, _args(tmp_path))
    inode = os.stat(tmp_path / "dropin.d" / "halb.conf").st_ino
    result = run_module(install_files, _args(tmp_path, helper="#!/bin/sh\necho two\n"))
    assert result["changed_paths"] == [str(tmp_path / "helper")]
    assert (tmp_path / "helper").read_text().endswith("two\n")
    assert os.stat(tmp_path / "dropin.d" / "halb.conf").st_ino == inode  # not rewritten
    result = run_module(install_files, _args(tmp_path, helper="#!/bin/sh\necho two\n", mode="0700"))
    assert result["changed_paths"] == [str(tmp_path / "helper"), str(tmp_path / "dropin.d" / "halb.conf")]
    assert _mode(tmp_path / "helper") == 0o700


def test_check_mode_writes_nothing_and_shows_the_diff(tmp_path):
    code, result = run_main(install_files, _args(tmp_path), check_mode=True, diff=True)
    assert code == 0 and result["changed"] is True, result
    assert not (tmp_path / "dropin.d").exists() and not (tmp_path / "helper").exists()
    assert {d["after_header"]: d["after"] for d in result["diff"]}[str(tmp_path / "helper")] == "#!/bin/sh\necho one\n"
    run_module(install_files, _args(tmp_path))
    code, result = run_main(install_files, _args(tmp_path, helper="new\n"), check_mode=True, diff=True)
    assert result["changed_paths"] == [str(tmp_path / "helper")]
    assert (tmp_path / "helper").read_text() == "#!/bin/sh\necho one\n"
    assert result["diff"] == [{"before_header": str(tmp_path / "helper"), "after_header": str(tmp_path / "helper"),
                               "before": "#!/bin/sh\necho one\n", "after": "new\n"}]  # fmt: skip


def test_a_file_outside_any_directory_fails_before_writing(tmp_path):
    args = _args(tmp_path, directories=[])
    code, result = run_main(install_files, args)
    assert code == 1
    assert "the directory %s does not exist; list it in directories" % (tmp_path / "dropin.d") in result["msg"]
    assert not (tmp_path / "helper").exists()  # the good entry before it was not written either


def test_a_relative_path_is_refused(tmp_path):
    args = _args(tmp_path)
    args["files"]["helper"] = "relative\n"
    code, result = run_main(install_files, args)
    assert code == 1 and "is not an absolute path" in result["msg"]
