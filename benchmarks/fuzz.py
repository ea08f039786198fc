"""Fuzz accord's edges: builders, table readers, importers and models on generated inputs; print the counts.

Every input must end as a result or an ``AccordError``; any other exception is a bug and is counted (with
its first examples) in the last column, which must be 0. Results are checked too: no NaN, probabilities that
sum to one, nothing dropped without a line in the report. Importers get random JSON and valid exports with
one value replaced at random (to reach the deeper code paths).

    python benchmarks/fuzz.py                 # 12,000 inputs, a few minutes on 2 cores
    python benchmarks/fuzz.py --n 50000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
import traceback
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accord import AccordError, Annotations, io
from accord.io.tables import read_annotations
from accord.models.registry import METHODS, make_model

TEXT = ["a", "b", "c", "NA", "N/A", "#N/A", "None", "null", "nan", "<NA>", "", " ", "=1+1", "-1", "1", "1.0",
        "007", "é", "x y", "\t", "{", "[1]", '"q"']  # fmt: skip
KEYS = ["id", "annotations", "result", "value", "choices", "completed_by", "from_name", "annotator", "label",
        "answer", "accept", "options", "_annotator_id", "_input_hash", "was_cancelled", "text",
        "annotationsFromAllWorkers", "annotationData", "content", "workerId", "source-ref", "lab",
        "lab-metadata", "class-name", "answers", "answerContent", "data", "ground_truth"]  # fmt: skip


class Fuzzer:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.tmp = Path(tempfile.mkdtemp(prefix="accord-fuzz-"))
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.examples: dict[str, list[str]] = defaultdict(list)

    # ------------------------------------------------------------------ generators
    def cell(self) -> Any:
        r = self.rng.random()
        if r < 0.6:
            return TEXT[self.rng.integers(len(TEXT))]
        if r < 0.7:
            return None
        if r < 0.8:
            return int(self.rng.integers(-3, 4))
        if r < 0.9:
            return float(self.rng.choice([0.0, 1.0, 2.5, np.nan, -1.0]))
        return [1] if self.rng.random() < 0.5 else {"a": 1}

    def table(self, text_only: bool = False) -> pd.DataFrame:
        n = int(self.rng.integers(0, 30))
        cell = (lambda: TEXT[self.rng.integers(len(TEXT))]) if text_only else self.cell
        return pd.DataFrame({c: [cell() for _ in range(n)] for c in ("item", "annotator", "label")})

    def json_value(self, depth: int = 0) -> Any:
        r = self.rng.random()
        if depth > 4 or r < 0.35:
            return self.cell() if self.rng.random() < 0.8 else bool(self.rng.integers(2))
        if r < 0.6:
            return [self.json_value(depth + 1) for _ in range(int(self.rng.integers(0, 4)))]
        return {
            KEYS[self.rng.integers(len(KEYS))]: self.json_value(depth + 1)
            for _ in range(int(self.rng.integers(0, 5)))
        }

    def valid(self) -> pd.DataFrame:
        n_items, n_ann, k = (
            int(self.rng.integers(2, 15)),
            int(self.rng.integers(2, 7)),
            int(self.rng.integers(2, 4)),
        )
        rows = []
        for i in range(n_items):
            who = self.rng.choice(n_ann, int(self.rng.integers(1, n_ann + 1)), replace=False)
            rows += [(f"i{i}", f"a{a}", f"c{self.rng.integers(k)}") for a in who]
        frame = pd.DataFrame(rows, columns=["item", "annotator", "label"])
        if frame["label"].nunique() < 2:
            frame.loc[0, "label"] = "c1" if frame.loc[0, "label"] == "c0" else "c0"
        return frame

    # ------------------------------------------------------------------ running one input
    def run(self, kind: str, fn: Callable[[], Any], check: Callable[[Any], None] | None = None) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = fn()
            except AccordError:
                self.counts[kind]["accord_error"] += 1
                return
            except Exception as exc:  # a bug: anything but AccordError
                self.counts[kind]["other_exception"] += 1
                if len(self.examples[kind]) < 3:
                    self.examples[kind].append(
                        f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=-1)}"
                    )
                return
        try:
            if check is not None:
                check(out)
            self.counts[kind]["ok"] += 1
        except AssertionError as exc:
            self.counts[kind]["bad_result"] += 1
            if len(self.examples[kind]) < 3:
                self.examples[kind].append(f"bad result: {exc}")

    # ------------------------------------------------------------------ the input families
    def builders(self) -> None:
        frame = self.table()
        missing = str(self.rng.choice(["error", "drop"]))
        duplicates = str(self.rng.choice(["error", "keep_last", "keep_all"]))

        def check(ann: Annotations) -> None:
            assert ann.n_annotations + dropped(ann.report) == len(frame), "rows dropped without a report"
            assert not ann.to_frame()["label"].isna().any(), "NaN label"

        self.run(
            "from_frame", lambda: Annotations.from_frame(frame, missing=missing, duplicates=duplicates), check
        )
        wide = pd.DataFrame([[self.cell() for _ in range(3)] for _ in range(int(self.rng.integers(1, 6)))])
        self.run("from_wide", lambda: Annotations.from_wide(wide, empty_items="drop"))

    def readers(self, i: int) -> None:
        suffix = str(self.rng.choice([".csv", ".tsv", ".jsonl", ".json"]))
        path = self.tmp / f"t{i % 50}{suffix}"
        if self.rng.random() < 0.3:
            path.write_bytes(self.rng.bytes(int(self.rng.integers(0, 200))))
        else:
            frame = self.table(text_only=True)
            if suffix in (".jsonl", ".json"):
                frame.to_json(path, orient="records", lines=True)
            else:
                frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
        self.run("read_annotations", lambda: read_annotations(path, missing="drop", duplicates="keep_all"))

    def mutate(self, value: Any) -> Any:
        """``value`` (a valid export) with one nested value replaced by a random JSON value."""
        if isinstance(value, dict) and value and self.rng.random() < 0.75:
            key = list(value)[int(self.rng.integers(len(value)))]
            return {**value, key: self.mutate(value[key])}
        if isinstance(value, list) and value and self.rng.random() < 0.75:
            k = int(self.rng.integers(len(value)))
            return [*value[:k], self.mutate(value[k]), *value[k + 1 :]]
        return self.json_value()

    def valid_export(self, fmt: str) -> list[Any]:
        n = int(self.rng.integers(1, 4))
        if fmt == "label_studio":
            return [
                {"id": t, "data": {"text": "x"}, "annotations": [
                    {"completed_by": a, "result": [{"from_name": "c", "to_name": "t", "type": "choices",
                                                    "value": {"choices": [TEXT[self.rng.integers(3)]]}}]}
                    for a in range(2)]}
                for t in range(n)
            ]  # fmt: skip
        if fmt == "prodigy":
            record = {"answer": "accept", "options": [{"id": "a"}, {"id": "b"}], "accept": ["a"]}
            return [
                {"text": f"t{t}", "_input_hash": t, "_annotator_id": f"u{a}", **record}
                for t in range(n)
                for a in range(2)
            ]
        return [
            {"source-ref": f"s3://b/{t}.jpg", "lab": {"annotationsFromAllWorkers": [
                {"workerId": f"w{a}", "annotationData": {"content": json.dumps({"c": {"label": "x"}})}}
                for a in range(2)]}, "lab-metadata": {"class-name": "x"}}
            for t in range(n)
        ]  # fmt: skip

    def importers(self, i: int) -> None:
        if self.rng.random() < 0.5:
            data = [self.json_value() for _ in range(int(self.rng.integers(1, 5)))]
        else:
            data = self.mutate(self.valid_export("label_studio"))
        self.run("label_studio", lambda: io.label_studio.read(data))
        fmt = str(self.rng.choice(["prodigy", "sagemaker"]))
        if self.rng.random() < 0.5:
            data = self.mutate(self.valid_export(fmt))
        if not isinstance(data, list):
            data = [data]
        path = self.tmp / f"j{i % 50}.{'jsonl' if fmt == 'prodigy' else 'manifest'}"
        path.write_text("\n".join(json.dumps(r) for r in data) + "\n")
        self.run(fmt, lambda: io.read(path, format=fmt))
        fmt = str(self.rng.choice(["mturk", "toloka"]))
        columns = (["HITId", "WorkerId", "AssignmentStatus", "Answer.label"] if fmt == "mturk"
                   else ["INPUT:x", "OUTPUT:y", "GOLDEN:y", "ASSIGNMENT:worker_id"])  # fmt: skip
        rows = [
            [TEXT[self.rng.integers(len(TEXT))] for _ in columns] for _ in range(int(self.rng.integers(0, 6)))
        ]
        path = self.tmp / f"m{i % 50}.{'csv' if fmt == 'mturk' else 'tsv'}"
        pd.DataFrame(rows, columns=columns).to_csv(path, sep="," if fmt == "mturk" else "\t", index=False)
        self.run(fmt, lambda: io.read(path, format=fmt))

    def models(self, names: list[str]) -> None:
        frame = self.valid()
        name = names[int(self.rng.integers(len(names)))]
        items = pd.unique(frame["item"])
        classes = sorted(pd.unique(frame["label"]))
        pp = pd.DataFrame(self.rng.dirichlet(np.ones(len(classes)), len(items)), index=items, columns=classes)

        def fit() -> Any:
            model = make_model(name, **({"n_restarts": 2} if name == "mace" else {}))
            extra = {"pred_probs": pp} if getattr(model, "accepts_pred_probs", False) else {}
            return model.fit(Annotations.from_frame(frame), **extra)

        def check(model: Any) -> None:
            p = model.proba_.to_numpy()
            assert np.isfinite(p).all(), f"{name}: NaN"
            assert np.allclose(p.sum(axis=1), 1.0, atol=1e-9), f"{name}: rows do not sum to 1"

        self.run(f"model:{name}", fit, check)


def dropped(report: list[str]) -> int:
    return sum(
        int(m.group(1))
        for line in report
        for m in [re.search(r"dropped (\d+) (?:annotation|repeated)", line)]
        if m
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="rounds (each feeds ~6 inputs; default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fuzz = Fuzzer(args.seed)
    names = sorted(m for m in METHODS if m != "auto")
    start = time.perf_counter()
    for i in range(args.n):
        fuzz.builders()
        fuzz.readers(i)
        fuzz.importers(i)
        if i % 4 == 0:
            fuzz.models(names)
    seconds = time.perf_counter() - start
    total = Counter()
    print("| input | n | ok | AccordError | bad result | other exception |")
    print("|---|---|---|---|---|---|")
    for kind in sorted(fuzz.counts):
        c = fuzz.counts[kind]
        total.update(c)
        n = sum(c.values())
        cells = [c["ok"], c["accord_error"], c["bad_result"], c["other_exception"]]
        print(f"| {kind} | {n:,} | " + " | ".join(f"{v:,}" for v in cells) + " |")
    n = sum(total.values())
    print(f"| **all** | {n:,} | {total['ok']:,} | {total['accord_error']:,} | {total['bad_result']:,} | "
          f"{total['other_exception']:,} |")  # fmt: skip
    print(f"\n{n:,} inputs in {seconds:.0f} s (seed {args.seed})")
    for kind, examples in fuzz.examples.items():
        for example in examples:
            print(f"{kind}: {example}")


if __name__ == "__main__":
    main()
