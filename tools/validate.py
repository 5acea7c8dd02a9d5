"""`make validate`: check the training data with Rasa's own validator, quietly.

    python -m tools.validate [--data data] [--domain domain.yml] [--config config.yml]
                             [--log .run/logs/validate.log]

Runs the checks of `rasa data validate` (rasa.validator.Validator, as rasa.cli.utils.
validate_files does) in this process and prints one line per group of checks and every real
problem; exits 1 when there is any, or when a file cannot be read (a YAML or schema error,
with Rasa's message). What is not a problem goes to the log file, counted on the last line:
library warnings, Rasa's log, and the expected notices (tools/quiet.py): responses that no
rule names because action_route sends them, comment lines in `examples: |` blocks.

Stricter than `rasa data validate`, which exits 0 on warnings: here every warning Rasa raises
about the project's files is a problem, except the expected ones.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools import answer_check
from tools.quiet import LOG_DIR, Quiet

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def checks(validator: Any) -> list[tuple[str, Callable[[], bool]]]:
    """The checks of rasa.cli.utils.validate_files, warnings not fatal (they are caught)."""
    return [
        ("domain", validator.verify_domain_validity),
        ("actions in rules and stories", validator.verify_actions_in_stories_rules),
        ("forms in rules and stories", validator.verify_forms_in_stories_rules),
        ("form slots", validator.verify_form_slots),
        ("slot mappings", validator.verify_slot_mappings),
        ("intents, examples and responses", lambda: validator.verify_nlu(True)),
        ("rule and story conflicts", lambda: validator.verify_story_structure(True)),
        (
            "mandatory config keys",
            lambda: validator.warn_if_config_mandatory_keys_are_not_set() or True,
        ),
    ]


def run(quiet: Quiet, data: list[str], domain: str, config: str) -> bool:
    started = time.monotonic()

    def say(text: str) -> None:
        quiet.say(f"  [{time.monotonic() - started:5.0f} s] {text}")

    say("loading Rasa")
    from rasa.shared.exceptions import RasaException
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    for path in (domain, config, *data):
        if not Path(path).exists():
            quiet.error(f"no such file or directory: {path}")
            return False
    say(f"reading {', '.join(data)}, {domain} and {config}")
    try:
        importer = TrainingDataImporter.load_from_config(
            domain_path=domain, training_data_paths=data, config_path=config
        )
        validator = Validator.from_importer(importer)
        if importer.get_domain().is_empty():
            quiet.error(f"the domain is empty: {domain}")
            return False
        ok = True
        for name, check in checks(validator):
            found = len(quiet.problems)
            passed = check()
            ok = ok and passed
            new = len(quiet.problems) - found
            say(f"{name}: " + ("ok" if passed and not new else f"{new} problem(s)"))
            if not passed and not new:
                quiet.problem(f"Rasa's check of {name} failed (see {quiet.log_path})")
    except RasaException as exc:  # a file Rasa cannot read: its message says which and why
        quiet.error(f"{type(exc).__name__}: {exc}")
        return False
    except Exception as exc:
        traceback.print_exc()  # into the log
        quiet.error(f"{type(exc).__name__}: {exc} (traceback in {quiet.log_path})")
        return False
    return ok and not quiet.problems and not quiet.errors


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", nargs="+", default=["data"])
    parser.add_argument("--domain", default="domain.yml")
    parser.add_argument("--config", default="config.yml")
    parser.add_argument("--log", type=Path, default=LOG_DIR / "validate.log")
    args = parser.parse_args()
    print(f"== checking the training data: {' '.join(args.data)}", flush=True)
    with Quiet(args.log) as quiet:
        ok = run(quiet, args.data, args.domain, args.config)
    # What Rasa cannot see: every intent has an answer or a route (bot/routing.yml).
    unanswered = answer_check.problems()
    for problem in unanswered:
        print(f"problem: {problem}", flush=True)
    ok = ok and not unanswered
    if ok:
        print("== the training data is valid", flush=True)
    else:
        found = len(quiet.problems) + len(quiet.errors) + len(unanswered)
        print(f"== INVALID: {found} problem(s), listed above", flush=True)
    print(quiet.summary(), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
