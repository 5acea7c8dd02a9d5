"""What `make train` and `make validate` show a maintainer: progress and real problems.

Everything else Rasa and its libraries say goes to a log file under .run/logs/ (overwritten on
each run): Python warnings (TensorFlow's, Keras', SQLAlchemy's, pkg_resources' deprecation
notices…), Rasa's own log lines, TensorFlow's C++ notices and the progress bars. While a tool
runs inside `Quiet`, the process's stderr (file descriptor 2) *is* the log file, so nothing a
library prints there reaches the terminal; the tool's own lines go to stdout, as do Rasa's
error messages (Rasa prints those to stdout).

A warning is a *problem*, shown (as "problem: …") and counted, when Rasa itself raises it about
the project's files (a UserWarning from the rasa package: an intent missing from the domain, an
example under two intents, a rule conflict…), unless it is one of the EXPECTED ones:

* "The utterance 'utter_…' is not used in any story or rule": action_route (actions/route.py)
  sends the responses by name, which the validator cannot see;
* "… contains an example that doesn't start with a '-' symbol: # …": a comment line inside an
  `examples: |` block, which Rasa skips as intended;
* the notices Rasa's own CLI filters out ("Slot auto-fill has been removed in 3.0", …).

Rasa's log records at WARNING or above (story structure conflicts are logged, not warned) are
problems too; ERROR records from any library are shown as errors.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import sys
import warnings
from pathlib import Path
from types import TracebackType
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / ".run" / "logs"

EXPECTED = {
    "responses sent by action_route, which no rule names": re.compile(
        r"The utterance '[^']+' is not used in any story or rule"
    ),
    "comment lines in examples blocks": re.compile(
        r"contains an example that doesn't start with a '-' symbol: #"
    ),
    # Rasa filters these itself when its CLI starts (rasa.utils.common.EXPECTED_WARNINGS).
    "notices Rasa itself hides": re.compile(
        r"Slot auto-fill has been removed in 3\.0|Converting sparse IndexedSlices"
    ),
}


def _rasa_package() -> str:
    """The rasa package's directory (found without importing it), with a trailing separator."""
    spec = importlib.util.find_spec("rasa")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return os.path.join(locations[0], "") if locations else "\0no rasa package\0"


_RASA = _rasa_package()
_PROJECT_LOGGERS = ("rasa", "bot", "actions")


def one_line(text: str) -> str:
    """A warning's message without Rasa's colours, "More info" links and line breaks."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = re.sub(r"\s*More info at \S+", "", text)
    return " ".join(text.split())


class Quiet:
    """Sends stderr and every warning to `log`; shows problems on stdout."""

    def __init__(self, log: Path, terminal: TextIO | None = None) -> None:
        self.log_path = log
        self.terminal = terminal or sys.stdout
        self.problems: list[str] = []
        self.errors: list[str] = []
        self.expected: dict[str, int] = dict.fromkeys(EXPECTED, 0)
        self.library_warnings = 0
        self._seen: set[str] = set()
        self._file: TextIO | None = None

    # --- what the tool reports itself

    def say(self, text: str) -> None:
        print(text, file=self.terminal, flush=True)
        self._log(text)

    def problem(self, text: str) -> None:
        text = one_line(text)
        if text in self._seen:  # Rasa reads some files twice (validation, then training)
            return
        self._seen.add(text)
        self.problems.append(text)
        self.say(f"  problem: {text}")

    def error(self, text: str) -> None:
        """Shown as Rasa wrote it (a YAML error points at the line), without colours."""
        text = re.sub(r"\x1b\[[0-9;]*m", "", text).strip()
        self.errors.append(text)
        self.say("ERROR: " + text.replace("\n", "\n       "))

    def summary(self) -> str:
        """One line: what was left out of the terminal, and where it is."""
        parts = [f"{n} {what}" for what, n in self.expected.items() if n]
        if self.library_warnings:
            parts.append(f"{self.library_warnings} warnings from libraries")
        left_out = ", ".join(parts) if parts else "nothing else"
        return f"not shown ({left_out}); Rasa's full log: {self.log_path}"

    # --- the plumbing

    def _expect(self, what: str, text: str) -> None:
        if text not in self._seen:  # counted once, however often Rasa reads the file
            self._seen.add(text)
            self.expected[what] += 1

    def _log(self, text: str) -> None:
        if self._file is not None:
            self._file.write(text + "\n")
            self._file.flush()

    def _warning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        self._log(warnings.formatwarning(message, category, filename, lineno, line).rstrip())
        text = one_line(str(message))
        for what, pattern in EXPECTED.items():
            if pattern.search(text):
                self._expect(what, text)
                return
        if issubclass(category, UserWarning) and filename.startswith(_RASA):
            self.problem(text)
        else:
            self.library_warnings += 1

    def __enter__(self) -> Quiet:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.log_path.open("w", encoding="utf-8")
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved_stderr = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        self._showwarning = warnings.showwarning
        warnings.showwarning = self._warning
        self._filters = warnings.filters[:]
        warnings.simplefilter("default")  # every warning once per place, into the log
        self._handler = _ProblemHandler(self)
        logging.getLogger().addHandler(self._handler)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        logging.getLogger().removeHandler(self._handler)
        warnings.showwarning = self._showwarning
        warnings.filters[:] = self._filters
        sys.stderr.flush()
        os.dup2(self._saved_stderr, 2)
        os.close(self._saved_stderr)
        if self._file is not None:
            self._file.close()
            self._file = None


class _ProblemHandler(logging.Handler):
    def __init__(self, quiet: Quiet) -> None:
        super().__init__(logging.WARNING)
        self.quiet = quiet

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a library's malformed log call is not ours to fix
            return
        if record.levelno >= logging.ERROR:
            self.quiet.error(text)
        elif record.name.split(".", 1)[0] in _PROJECT_LOGGERS:
            for what, pattern in EXPECTED.items():
                if pattern.search(text):
                    self.quiet._expect(what, text)
                    return
            self.quiet.problem(text)


def warning_lines(output: str) -> list[str]:
    """Lines of `output` that look like a library's warning (what the tests check for)."""
    return [ln for ln in output.splitlines() if re.search(r"Warning\b|\bWARNING\b", ln)]
