"""What MLflow costs the lessons, and what mlcourse.train.tracking saves, measured side by side.

    python benchmarks/tracking.py

Prints, in one fresh Python each (so imports are cold): importing mlflow, a
first local store (MLflow's schema migrations), a further store (a copy of the
migrated template), and ``mlflow.sklearn.log_model`` with MLflow's requirement
inference (a second Python that loads the model) against the flavor's default
list that :func:`mlcourse.train.tracking.local_store` makes it use.
"""
from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json, time
import mlcourse  # first: MLflow telemetry off
t0 = time.perf_counter()
import mlflow
t1 = time.perf_counter()
# MLflow's own requirement inference, kept before mlcourse.train.tracking swaps it for the default list
from mlflow.models import infer_pip_requirements as INFER
from mlcourse.train import tracking
first = tracking.local_store()
t2 = time.perf_counter()
second = tracking.local_store()
t3 = time.perf_counter()
from sklearn.linear_model import LogisticRegression
model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
with first.activate("bench"), mlflow.start_run():
    t4 = time.perf_counter()
    mlflow.sklearn.log_model(model, name="fast")
    t5 = time.perf_counter()
    mlflow.models.infer_pip_requirements = INFER
    mlflow.sklearn.log_model(model, name="inferred")
    t6 = time.perf_counter()
print(json.dumps({"import mlflow": t1 - t0, "first store (migrations)": t2 - t1, "another store (copy)": t3 - t2,
                  "log_model, default requirements": t5 - t4, "log_model, inferred requirements": t6 - t5}))
"""


def main() -> int:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    times = json.loads(out.stdout.strip().splitlines()[-1])
    for what, seconds in times.items():
        print(f"{what:<36} {seconds:7.2f} s")
    ratios = {
        "a new store: migrations / copy": times["first store (migrations)"] / times["another store (copy)"],
        "log_model: inferred / default": times["log_model, inferred requirements"] / times["log_model, default requirements"],
    }
    for what, ratio in ratios.items():
        print(f"{what:<36} {ratio:7.0f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
