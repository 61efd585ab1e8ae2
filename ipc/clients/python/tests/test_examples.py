"""The README's client examples are files run here against the real daemon, each
checked line by line against the output its `→` comments promise; and the README
shows each file verbatim (a drift fails ReadmeTest)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

from daemon_harness import DaemonTestCase

ROOT = Path(__file__).resolve().parents[4]
PYTHON_EXAMPLE = ROOT / "ipc/clients/python/examples/quickstart.py"
SHELL_EXAMPLE = ROOT / "ipc/clients/shell/json_lines.sh"
CPP_EXAMPLE = ROOT / "ipc/examples/cache_example.cpp"
# Where README.md must show each, and in which fence language.
README_EXAMPLES = {PYTHON_EXAMPLE: "python", SHELL_EXAMPLE: "sh", CPP_EXAMPLE: "cpp"}


def promised_output(source: Path) -> list[str]:
    """The lines the example says it prints: what follows `→ ` in its comments, in order."""
    return re.findall(r"(?:#|//)[^\n→]*→ (.*)$", source.read_text(encoding="utf-8"), re.MULTILINE)


class ExampleTestCase(DaemonTestCase):
    def run_example(self, source: Path, argv: list[str], env: dict[str, str] | None = None) -> None:
        child_env = dict(os.environ, DURATIOND_SOCKET=self.daemon.socket_path, **(env or {}))
        done = subprocess.run(argv, env=child_env, capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, f"{argv}: {done.stderr}")
        self.assertEqual(done.stderr, "")
        expected = promised_output(source)
        self.assertGreater(len(expected), 3)
        actual = done.stdout.splitlines()
        self.assertEqual(len(actual), len(expected), f"printed:\n{done.stdout}")
        for want, got in zip(expected, actual):
            pattern = ".*".join(re.escape(part) for part in want.split("…"))
            self.assertRegex(got, f"^{pattern}$")


class PythonExampleTest(ExampleTestCase):
    def test_quickstart(self) -> None:
        module_dir = str(ROOT / "ipc/clients/python")
        self.run_example(PYTHON_EXAMPLE, [sys.executable, "-B", str(PYTHON_EXAMPLE)], {"PYTHONPATH": module_dir})


class ShellExampleTest(ExampleTestCase):
    def test_json_lines_with_socat(self) -> None:
        self.run_example(SHELL_EXAMPLE, ["/bin/bash", "-e", "-o", "pipefail", str(SHELL_EXAMPLE)])


class CppExampleTest(ExampleTestCase):
    def test_cache_example(self) -> None:
        binary = os.environ.get("DURATIOND_CACHE_EXAMPLE", "")
        self.assertTrue(os.access(binary, os.X_OK), "set DURATIOND_CACHE_EXAMPLE (ctest does)")
        self.run_example(CPP_EXAMPLE, [binary])


class ReadmeTest(unittest.TestCase):
    def test_readme_shows_each_example_verbatim(self) -> None:
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        for path, language in README_EXAMPLES.items():
            relative = path.relative_to(ROOT).as_posix()
            with self.subTest(relative):
                marker = f"<!-- example: {relative} (tested: keep identical) -->\n```{language}\n"
                self.assertEqual(readme.count(marker), 1, f"README.md lacks {marker!r}")
                start = readme.index(marker) + len(marker)
                block = readme[start : readme.index("\n```\n", start) + 1]
                self.assertEqual(block, path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    unittest.main()
