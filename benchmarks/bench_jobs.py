"""Training-job overhead and sweep speed-up, measured against baselines in the same run.

    python benchmarks/bench_jobs.py [--repeat 5]

1. One small notebook, each as a fresh process: ``jupyter mlops run`` (recorded: lineage,
   audit hook, store) against plain ``papermill`` and against bare ``nbclient``
   (targets: at most 1.05x nbclient, and at most papermill's ratio).
2. The same job started from a Jupyter server ("Run as Job": POST runs until it is recorded),
   which keeps a worker with a started kernel waiting (target: under 1.0x bare nbclient).
3. A 4-run sweep with ``--workers 2`` against 4 sequential papermill runs (target: <= 0.45x).
4. The churn example as a Kubeflow pipeline run locally (``pipeline --run-local``: kfp.local,
   one process per step, artifacts between them) against ``jupyter mlops run`` of the same
   notebook (reported, no target: the price of running step by step as a cluster would).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from common import timed, timed_together
from server_jobs import JobServer

NBCLIENT = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="python3").execute()
"""


def notebook(path: Path) -> Path:
    """A small training notebook: parameters, pandas + scikit-learn, a metric."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell("alpha = 1.0\n")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_code_cell("import pandas as pd\nfrom sklearn.datasets import load_diabetes\n"
                                  "from sklearn.linear_model import Ridge"),
        params,
        nbformat.v4.new_code_cell("X, y = load_diabetes(return_X_y=True, as_frame=True)\n"
                                  "model = Ridge(alpha=alpha).fit(X, y)\n"
                                  "score = model.score(X, y)\nprint(score)"),
    ]
    nbformat.write(nb, path)
    return path


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def pipeline_row(work: Path, repeat: int) -> float:
    """Seconds of ``pipeline --run-local`` over ``run`` of the churn example; prints the row."""
    project = work / "churn"
    shutil.copytree(EXAMPLES / "churn", project, ignore=shutil.ignore_patterns(".mlops"))
    env = dict(os.environ, JUPYTER_MLOPS_HOME=str(project / ".mlops"))
    py = sys.executable
    medians = timed_together({
        "run": [py, "-m", "jupyter_mlops", "run", "churn.ipynb"],
        "pipeline": [py, "-m", "jupyter_mlops", "pipeline", "churn.ipynb", "--out", "package",
                     "--run-local"],
    }, project, repeat, env)
    run, local = medians["run"], medians["pipeline"]
    print(f"churn: jupyter mlops run           {run:6.2f} s   (baseline)")
    print(f"churn: pipeline --run-local (kfp)  {local:6.2f} s   ratio {local / run:.2f}x "
          "(5 steps, each its own process)")
    return local / run


def main() -> int:
    """Run both benchmarks and print ratios against their baselines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pipeline-repeat", type=int, default=1,
                        help="repeats of the (slow) local pipeline row")
    parser.add_argument("--only-pipeline", action="store_true", help="just the pipeline row")
    args = parser.parse_args()
    if args.only_pipeline:
        with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
            pipeline_row(Path(tmp), args.pipeline_repeat)
        return 0
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        work = Path(tmp)
        nb = notebook(work / "train.ipynb")
        (work / "nbclient_run.py").write_text(NBCLIENT)
        env = dict(os.environ, JUPYTER_MLOPS_HOME=str(work / ".mlops"))
        server = JobServer(work, env)
        try:
            medians = timed_together({
                "bare": [py, "nbclient_run.py", str(nb)],
                "papermill": [py, "-m", "papermill", str(nb), "out.ipynb", "-p", "alpha",
                              "0.5", "--no-progress-bar"],
                "job": [py, "-m", "jupyter_mlops", "run", str(nb), "-p", "alpha", "0.5"],
                "server": lambda: server.timed_job(nb.name, {"alpha": 0.5}),
            }, work, args.repeat, env)
        finally:
            server.stop()
        bare, paper, job = medians["bare"], medians["papermill"], medians["job"]
        served = medians["server"]
        print(f"bare nbclient          {bare:6.2f} s   (baseline)")
        print(f"papermill              {paper:6.2f} s   ratio {paper / bare:.2f}x")
        print(f"jupyter mlops run      {job:6.2f} s   ratio {job / bare:.2f}x "
              f"(target <= 1.05x nbclient and <= papermill's {paper / bare:.2f}x)")
        print(f"Run as Job (server)    {served:6.2f} s   ratio {served / bare:.2f}x "
              "(target < 1.0x nbclient: pre-started worker and kernel)")
        sequential = sum(timed([py, "-m", "papermill", str(nb), f"out{i}.ipynb", "-p", "alpha",
                                str(0.1 * (i + 1)), "--no-progress-bar"], work, 1, env)
                         for i in range(4))
        sweep = timed([py, "-m", "jupyter_mlops", "run", str(nb), "-p", "alpha",
                       "0.1,0.2,0.3,0.4", "--workers", "2"], work, 1, env)
        print(f"4 papermill runs       {sequential:6.2f} s   (baseline)")
        print(f"4-run sweep, 2 workers {sweep:6.2f} s   ratio {sweep / sequential:.2f}x "
              "(target <= 0.45x)")
        pipeline_row(work, args.pipeline_repeat)
    met = (job / bare <= min(1.05, paper / bare) and served / bare < 1.0
           and sweep / sequential <= 0.45)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
