"""`make train`, `make evaluate`, `make promote`: the retraining loop, run through make as a
maintainer runs it, on models and files in a temporary directory.

One real training: a deliberately weaker model (no "talk to a person" examples, and no MiniLM
featurizer, so it trains in under a minute). The trained assistant of the repository is the
current model, evaluated on a few rows instead of the whole dev split. The training shows its
progress and the data's real problems, and no library warning.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from devstack.processes import ROOT
from devstack.stack import MODEL
from tools.quiet import warning_lines

HUMAN = "contact_human_agent"
ROWS = """text,intent
I want to talk to a person,contact_human_agent
can I speak to a human please,contact_human_agent
where is my parcel,track_order
what payment methods do you accept,check_payment_methods
who won the world cup in 1966,out_of_scope
"""
# What a maintainer moved into data/nlu/reviewed.yml after `make review`.
REVIEWED = """version: "3.1"
nlu:
- intent: contact_human_agent
  examples:
  - text: "get me a real person"
- intent: new_topic
  examples:
  - text: "do you sell gift cards"
"""


def _weak_training_data(tmp: Path) -> tuple[Path, Path]:
    """data/ without the contact_human_agent examples, and config.yml without MiniLM and the
    person-request detector."""
    data = tmp / "data"
    (data / "nlu").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "rules.yml", data / "rules.yml")
    for source in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        kept, skipping, blocks = [], False, 0
        for line in source.read_text(encoding="utf-8").splitlines():
            if re.match(r"^  - \w+:", line):
                skipping = line.strip() == f"- intent: {HUMAN}"
                blocks += not skipping
            if not skipping:
                kept.append(line)
        if blocks:
            (data / "nlu" / source.name).write_text("\n".join(kept) + "\n", encoding="utf-8")
    config = tmp / "config.yml"
    pipeline = (ROOT / "config.yml").read_text(encoding="utf-8")
    pipeline = pipeline.replace("  - name: bot.nlu.minilm_featurizer.MiniLMFeaturizer\n", "")
    # Without its own detector too, so that nothing recognises a request for a person.
    pipeline = re.sub(
        r"  - name: bot\.nlu\.person_request\.PersonRequestDetector\n(    .*\n)*", "", pipeline
    )
    config.write_text(pipeline, encoding="utf-8")
    assert "name: bot.nlu.minilm" not in config.read_text()
    assert "PersonRequestDetector" not in config.read_text()
    assert f"intent: {HUMAN}" not in "".join(p.read_text() for p in (data / "nlu").glob("*.yml"))
    return data, config


def _make(target: str, *overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    env |= {"RASA_URL": "http://127.0.0.1:9", "RASA_TELEMETRY_ENABLED": "false"}
    done = subprocess.run(
        ["make", "--no-print-directory", target, *overrides],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(done.stdout[-6000:], done.stderr[-3000:])  # shown when the test fails
    return done


def _metric(output: str, section: str, metric: str) -> list[str]:
    """The words of one metric's line in one data set's table."""
    table = output.split(f"### {section}", 1)[1].split("###", 1)[0]
    line = next(ln for ln in table.splitlines() if ln.strip().startswith(metric + " "))
    return line.split()


def test_train_evaluate_and_promote_a_worse_then_a_better_model(tmp_path: Path) -> None:
    data, config = _weak_training_data(tmp_path)
    (tmp_path / "rows.csv").write_text(ROWS, encoding="utf-8")
    (tmp_path / "reviewed.yml").write_text(REVIEWED, encoding="utf-8")
    current, candidate = tmp_path / "current.tar.gz", tmp_path / "candidate.tar.gz"
    shutil.copy(MODEL, current)
    loop = [
        f"CURRENT={current}",
        f"CANDIDATE={candidate}",
        f"TRAIN_DATA={data}",
        f"TRAIN_CONFIG={config}",
        f"GATE_ROWS={tmp_path / 'rows.csv'}",
        f"REVIEWED={tmp_path / 'reviewed.yml'}",
        f"COMPARE_OUT={tmp_path / 'compare'}",
    ]

    # `make train` trains the new model beside the current one, showing its progress.
    trained = _make("train", *loop)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert f"== training {candidate}" in trained.stdout
    assert re.search(r"step \d+/\d+: training LogisticRegressionClassifier", trained.stdout)
    assert f"== trained {candidate}" in trained.stdout and "next: make evaluate" in trained.stdout
    assert candidate.exists() and current.read_bytes() == MODEL.read_bytes()
    # Real problems are shown (the weaker data has no example of an intent of the domain);
    # library warnings and the expected notices are only counted, the log file named.
    assert (
        f"problem: The intent '{HUMAN}' is listed in the domain file, but is not found in the "
        "NLU training data." in trained.stdout
    )
    assert trained.stdout.count("problem:") == 1, trained.stdout
    assert warning_lines(trained.stdout + trained.stderr) == []
    assert "warnings from libraries" in trained.stdout and "train.log" in trained.stdout

    # `make evaluate`: before/after per metric, what got worse, and the verdict on the targets.
    worse = _make("evaluate", *loop)
    assert worse.returncode == 0, worse.stderr[-3000:]
    out = worse.stdout
    assert _metric(out, "dev split", "human_request_recall") == [
        "human_request_recall",
        "100.0%",
        "0.0%",
        "-100.0",
        "[-100.0,",
        "-100.0]",
        "WORSE,",
        "significant",
        ">=",
        "0.995",
        "MISSED",
    ]
    assert _metric(out, "dev split", "out_of_scope_answered")[-1] == "met"
    assert "paired bootstrap over these rows (2000 drawings, seed 17)" in out
    assert "examples that got worse:" in out
    assert "[contact_human_agent] 'I want to talk to a person': handoff (explicit_request" in out
    reviewed = out.split("### reviewed examples (reviewed.yml)", 1)[1]
    assert "1 rows; right 100.0% -> 0.0%" in reviewed and "TRAINING DATA" in reviewed
    assert "'get me a real person'" in reviewed and "gift cards" not in reviewed
    assert "1 under new topics or intents the domain lacks are not compared" in out
    assert "BELOW THE TARGETS" in out and "human_request_recall 0.0 (target >= 0.995)" in out
    assert (
        "SIGNIFICANTLY WORSE than the current model on the dev split: human_request_recall "
        "100.0% -> 0.0% (-100.0 points, 95% CI -100.0 to -100.0)" in out
    )

    # `make promote` refuses it; FORCE=1 promotes it anyway, keeping the replaced model.
    refused = _make("promote", *loop)
    assert refused.returncode != 0
    assert "NOT PROMOTED: below the targets: human_request_recall 0.0" in refused.stderr
    assert "significantly worse than the current model: human_request_recall" in refused.stderr
    assert current.read_bytes() == MODEL.read_bytes()
    forced = _make("promote", "FORCE=1", *loop)
    assert forced.returncode == 0, forced.stderr
    assert "promoting despite" in forced.stdout and "no running Rasa" in forced.stdout
    assert current.read_bytes() == candidate.read_bytes()
    assert (tmp_path / "previous" / "previous.tar.gz").read_bytes() == MODEL.read_bytes()

    # Back to the good model: the same loop now shows what got better, and promotes it unforced.
    shutil.copy(MODEL, candidate)
    better = _make("evaluate", *loop)
    assert better.returncode == 0, better.stderr[-3000:]
    assert _metric(better.stdout, "dev split", "human_request_recall")[1:8] == [
        "0.0%",
        "100.0%",
        "+100.0",
        "[+100.0,",
        "+100.0]",
        "better,",
        "significant",
    ]
    assert "examples that got better:" in better.stdout
    assert re.search(
        r"\[contact_human_agent\] 'can I speak to a human please': "
        r".+ -> handoff \(explicit_request",
        better.stdout.split("examples that got better:", 1)[1],
    )
    assert "meets every target on the dev split and is significantly worse on none" in (
        better.stdout
    )
    promoted = _make("promote", *loop)
    assert promoted.returncode == 0, promoted.stderr
    assert current.read_bytes() == MODEL.read_bytes()
