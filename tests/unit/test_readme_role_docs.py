"""The README's role option tables match the roles' meta/argument_specs.yml (scripts/role_docs.py)."""

import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "role_docs.py")

_spec = importlib.util.spec_from_file_location("role_docs", SCRIPT)
role_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(role_docs)


def test_readme_role_options_are_current():
    problem = role_docs.check(ROOT)
    if problem:
        pytest.fail(problem, pytrace=False)


def test_check_command_line():
    result = subprocess.run([sys.executable, SCRIPT, "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Checked with C(haproxy -c).", "Checked with `haproxy -c`."),
        ("Needs O(lb_engine=nginx) here.", "Needs `lb_engine=nginx` here."),
        ("Set O(lb_spec) or V(round_robin).", "Set `lb_spec` or `round_robin`."),
        ("When O(halb.loadbalancer.lb#role:main:lb_metrics_listen) is set.", "When `lb_metrics_listen` is set."),
        ("Its RV(halb.loadbalancer.lb_load#module:records_path).", "Its `records_path`."),
        ("A subnet of I(keepalived_interface).", "A subnet of `keepalived_interface`."),
        ("Through M(halb.loadbalancer.lb_config).", "Through `halb.loadbalancer.lb_config`."),
        ("The P(halb.loadbalancer.lb_spec#filter) filter.", "The `halb.loadbalancer.lb_spec` filter."),
        ("See U(https://www.haproxy.org/).", "See [https://www.haproxy.org/](https://www.haproxy.org/)."),
        ("See L(the manual,https://nginx.org/en/docs/).", "See [the manual](https://nginx.org/en/docs/)."),
        (["First C(a).", "Second."], "First `a`. Second."),
        ("No markup in TLS(1.3) or API(x).", "No markup in TLS(1.3) or API(x)."),
    ],
)
def test_markup(text, expected):
    assert role_docs.to_markdown(text) == expected


def test_pipes_are_escaped_in_cells():
    assert role_docs.escape_cell("a | b") == "a \\| b"
    row = role_docs.render_option(
        "x_iface", {"description": "Interface.", "type": "str", "default": "{{ x | default('eth0') }}"}
    )
    assert row == "| `x_iface` | str | `{{ x \\| default('eth0') }}` | Interface. |"


def test_option_rendering():
    row = role_docs.render_option(
        "x_servers",
        {
            "description": ["The pool.", "At least one."],
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {"name": {"type": "str", "required": True}, "port": {"type": "int", "default": 80}},
        },
    )
    assert row == (
        "| `x_servers` | list of dict | `[]` | The pool. At least one. "
        "Each item: `name` (str, required), `port` (int, default 80). |"
    )
    row = role_docs.render_option("x_mode", {"description": "Mode.", "choices": ["a", "b"], "required": True})
    assert row == "| `x_mode` | str | **required** | Mode. One of: `a`, `b`. |"


def test_stale_block_is_found_and_rewritten(tmp_path):
    meta = tmp_path / "roles" / "demo" / "meta"
    meta.mkdir(parents=True)
    (meta / "argument_specs.yml").write_text(
        "argument_specs:\n"
        "  main:\n"
        "    short_description: Demo.\n"
        "    options: &opts\n"
        "      demo_port: {description: Port., type: int, default: 8080}\n"
        "  preflight:\n"
        "    short_description: Checks.\n"
        "    options: *opts\n"
    )
    (tmp_path / "roles" / "_hidden" / "meta").mkdir(parents=True)
    (tmp_path / "roles" / "_hidden" / "meta" / "argument_specs.yml").write_text("argument_specs: {main: {}}\n")
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\n%s\nold\n%s\n\nTail.\n" % (role_docs.BEGIN, role_docs.END))

    assert role_docs.check(str(tmp_path)) == role_docs.STALE
    assert role_docs.update(str(tmp_path)) is True
    assert role_docs.check(str(tmp_path)) is None
    assert role_docs.update(str(tmp_path)) is False
    text = readme.read_text()
    assert text.startswith("# Title\n\n%s\n\n#### halb.loadbalancer.demo\n" % role_docs.BEGIN)
    entry_points = "Entry points: `main`, `preflight` (`tasks_from: preflight`)."
    assert text.endswith("%s\n\n%s\n\nTail.\n" % (entry_points, role_docs.END))
    assert "| `demo_port` | int | 8080 | Port. |" in text
    assert "_hidden" not in text
    assert all(line == line.rstrip() for line in text.splitlines())
