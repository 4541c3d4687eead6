import errno
import os
import shutil
import subprocess
import sys

from transfer_invariance import errors


def test_user_errors_are_found_in_the_exception_chain():
    try:
        try:
            raise errors.ParameterError("parameter 'x': bad")
        except errors.ParameterError as inner:
            raise RuntimeError("wrapped by the runner") from inner
    except RuntimeError as outer:
        assert isinstance(errors.user_error(outer), errors.ParameterError)
    assert errors.user_error(OSError(errno.ENOSPC, "full")) is not None
    assert errors.user_error(KeyError("bug")) is None


def test_a_user_error_prints_its_message_and_a_bug_keeps_its_traceback(capsys, monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *args: seen.append(args))
    errors.install_user_error_report()
    sys.excepthook(errors.MissingInputError, errors.MissingInputError("run X first"), None)
    assert capsys.readouterr().err.strip() == "Error: run X first" and seen == []
    bug = KeyError("bug")
    sys.excepthook(KeyError, bug, None)
    assert seen == [(KeyError, bug, None)]


def test_kedro_run_with_a_bad_parameter_ends_with_the_message_not_a_traceback(project_dir):
    tmp_path = project_dir
    kedro = shutil.which("kedro", path=os.path.dirname(sys.executable))
    result = subprocess.run(
        [kedro, "run", "--pipeline=harm", "--params=harm.invariance.batch_size=0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "DO_NOT_TRACK": "true"},
        timeout=300,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "╭" not in output
    last = result.stderr.strip().splitlines()
    assert any("harm.invariance" in line for line in last[-6:])
    assert "batch_size" in "\n".join(last[-6:])
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
