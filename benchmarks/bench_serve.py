"""The churn model served by ``jupyter mlops serve`` against ``mlflow models serve --env-manager
local``, and by ``jupyter mlops serve --runtime onnx`` (the same package's model converted with
``jupyter mlops convert``, run by onnxruntime), each with one worker process, measured in one
interleaved run.

    python benchmarks/bench_serve.py [--rounds 3] [--seconds 3]

All servers run the same ``score.run`` of the committed churn package on the same trained
model (MLflow's through a pyfunc wrapper, the onnx row on its model.onnx), and are asked the
same records. Printed: one-record
latency p50/p95 (sequential requests on one keep-alive connection), requests per second with
8 and 32 concurrent keep-alive clients, and failed requests when 200 clients connect at once.
Each phase alternates between the servers (one request each in turn for latency, 2-second
slices in turn for throughput, one burst each per round) so that the machine's load, shared
with other work, falls on all alike. Targets: no error at 200 clients; throughput at
32 clients at least MLflow's; p50 at most MLflow's; the onnx runtime's p50 at most the
scikit-learn runtime's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "churn"
sys.path.insert(0, str(ROOT))

PYFUNC = '''
import os

import mlflow.pyfunc


class ChurnScore(mlflow.pyfunc.PythonModel):
    """The package's score.run behind MLflow's pyfunc interface."""

    def load_context(self, context):
        os.environ["MODEL_DIR"] = context.artifacts["model_dir"]
        from churn import score
        score.init()
        self.score = score

    def predict(self, context, model_input, params=None):
        answer = self.score.run(model_input.to_dict(orient="records"))
        if "error" in answer:
            raise ValueError(answer["error"])
        return answer["predictions"]
'''


def prepare(work: Path) -> tuple[Path, Path, Path]:
    """The churn package with a trained model, and an MLflow pyfunc model around it."""
    from jupyter_mlops.registry import serving  # pylint: disable=import-outside-toplevel

    shutil.copy(EXAMPLE / "customers.csv", work / "customers.csv")
    package = work / "package"
    shutil.copytree(EXAMPLE / "package", package)
    model_dir = serving.ensure_model(serving.resolve(None, str(package)), package / "outputs")
    from jupyter_mlops.registry.convert import convert  # pylint: disable=import-outside-toplevel

    if not convert(None, str(package)).passed:
        raise SystemExit("the churn model's ONNX conversion failed its parity check")
    (work / "churn_pyfunc.py").write_text(PYFUNC)
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import mlflow.pyfunc, churn_pyfunc\n"
        "mlflow.pyfunc.save_model(sys.argv[3], python_model=churn_pyfunc.ChurnScore(),\n"
        "    artifacts={'model_dir': sys.argv[4]},\n"
        "    code_paths=[sys.argv[1] + '/churn_pyfunc.py', sys.argv[2] + '/churn'])\n")
    subprocess.run([sys.executable, "-c", script, str(work), str(package),
                    str(work / "mlflow-model"), str(model_dir)], check=True,
                   capture_output=True)
    return package, model_dir, work / "mlflow-model"


def wait_ready(port: int, path: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    """Until GET path answers 200 (SystemExit if the server dies first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server on port {port} not ready after {timeout:.0f} s")


def one(conn: http.client.HTTPConnection, body: bytes) -> int:
    """POST /score or /invocations (by the body's shape); the status."""
    path = "/invocations" if body.startswith(b'{"dataframe_records"') else "/score"
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    answer = conn.getresponse()
    answer.read()
    return answer.status


def throughput(port: int, body: bytes, clients: int, seconds: float) -> tuple[float, int]:
    """(requests per second, failures) of ``clients`` keep-alive clients for ``seconds``."""
    done, failed = [0] * clients, [0] * clients
    stop = time.perf_counter() + seconds

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < stop:
            try:
                ok = one(conn, body) == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            done[number] += ok
            failed[number] += not ok
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - start), sum(failed)


def burst(port: int, body: bytes, clients: int = 200) -> int:
    """Failed requests when ``clients`` new connections send one request at the same time."""
    gate = threading.Barrier(clients)
    failed = [0]

    def client() -> None:
        gate.wait()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            ok = one(conn, body) == 200
            conn.close()
        except (OSError, http.client.HTTPException):
            ok = False
        if not ok:
            failed[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failed[0]


def _ours(package: Path, port: int, runtime: str, log: Optional[Path]) -> subprocess.Popen:
    """``jupyter mlops serve`` of the package with one worker and ``runtime``."""
    return subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", "jupyter_mlops", "serve", str(package), "--port", str(port),
         "--workers", "1", "--runtime", runtime,
         *(["--log", str(log)] if log else ["--no-log"])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_servers(package: Path, mlflow_model: Path, work: Path, log: bool = True) -> dict:
    """The servers on free ports: name -> (port, process, body)."""
    from jupyter_mlops.registry import serving  # pylint: disable=import-outside-toplevel

    record = json.loads((package / "tests" / "fixtures" / "recording.json").read_text())
    record = {k: v for k, v in record["records"][0].items() if k != "churn"}
    ours, onnx, theirs = serving.free_port(), serving.free_port(), serving.free_port()
    env = dict(os.environ, PYTHONPATH=str(work))
    body = json.dumps([record]).encode()
    servers = {
        "jupyter-mlops": (ours, _ours(package, ours, "sklearn",
                                      work / "requests.jsonl" if log else None), body),
        "jupyter-mlops onnx": (onnx, _ours(package, onnx, "onnx",
                             work / "requests-onnx.jsonl" if log else None), body),
        "mlflow": (theirs, subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(mlflow_model),
             "--env-manager", "local", "-p", str(theirs), "-h", "127.0.0.1", "-w", "1"],
            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            json.dumps({"dataframe_records": [record]}).encode()),
    }
    for name, (port, proc, _) in servers.items():
        wait_ready(port, "/ping" if name == "mlflow" else "/health", proc)
    return servers


def measure(servers: dict, rounds: int, seconds: float) -> dict:
    """Every phase, alternating between the servers as finely as the phase allows: one
    request each in turn for latency, ``seconds``-long slices in turn for throughput."""
    results = {name: {"lat": [], "rps8": [], "rps32": [], "err200": 0, "errs": 0}
               for name in servers}
    def connections() -> dict:  # new each round: idle keep-alive connections get closed
        return {name: http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                for name, (port, _, _) in servers.items()}

    conns = connections()
    for name, (_, _, body) in servers.items():
        for _ in range(30):  # warm up
            one(conns[name], body)
    for _ in range(rounds):
        conns = connections()
        for _ in range(100):
            for name, (_, _, body) in servers.items():
                start = time.perf_counter()
                if one(conns[name], body) != 200:
                    raise SystemExit(f"{name}: a one-record request failed")
                results[name]["lat"].append(time.perf_counter() - start)
        for clients in (8, 32):
            for name, (port, _, body) in servers.items():
                rps, failed = throughput(port, body, clients, seconds)
                results[name][f"rps{clients}"].append(rps)
                results[name]["errs"] += failed
        for name, (port, _, body) in servers.items():
            results[name]["err200"] += burst(port, body)
    for conn in conns.values():
        conn.close()
    return results


def report(results: dict, rounds: int) -> None:
    """The table, the ratios against MLflow, and whether each target is met."""
    rows = {}
    for name, r in results.items():
        lat = sorted(r["lat"])
        rows[name] = {"p50_ms": 1000 * statistics.median(lat),
                      "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))],
                      "rps8": statistics.median(r["rps8"]), "rps32": statistics.median(r["rps32"]),
                      "errors_200": r["err200"], "errors_keepalive": r["errs"]}
    print(f"{'server':<20}{'p50 ms':>9}{'p95 ms':>9}{'rps@8':>9}{'rps@32':>9}"
          f"{'errors@200 (' + str(rounds) + ' bursts)':>28}")
    for name, row in rows.items():
        print(f"{name:<20}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}{row['rps8']:>9.0f}"
              f"{row['rps32']:>9.0f}{row['errors_200']:>28}")
    ours, theirs = rows["jupyter-mlops"], rows["mlflow"]
    print(f"ratios jupyter-mlops/mlflow: p50 {ours['p50_ms'] / theirs['p50_ms']:.2f}x, p95 "
          f"{ours['p95_ms'] / theirs['p95_ms']:.2f}x, rps@8 {ours['rps8'] / theirs['rps8']:.2f}x,"
          f" rps@32 {ours['rps32'] / theirs['rps32']:.2f}x")
    onnx = rows["jupyter-mlops onnx"]
    print(f"ratios onnx/sklearn runtime of jupyter-mlops: p50 "
          f"{onnx['p50_ms'] / ours['p50_ms']:.2f}x, p95 {onnx['p95_ms'] / ours['p95_ms']:.2f}x, "
          f"rps@8 {onnx['rps8'] / ours['rps8']:.2f}x, rps@32 {onnx['rps32'] / ours['rps32']:.2f}x")
    targets = {"no error at 200 concurrent clients": ours["errors_200"] == 0,
               "rps@32 at least MLflow's": ours["rps32"] >= theirs["rps32"],
               "p50 at most MLflow's": ours["p50_ms"] <= theirs["p50_ms"],
               "onnx: no error at 200 concurrent clients": onnx["errors_200"] == 0,
               "onnx p50 at most the sklearn runtime's": onnx["p50_ms"] <= ours["p50_ms"]}
    for text, met in targets.items():
        print(f"  {'met' if met else 'NOT met'}: {text}")
    print(json.dumps(rows))


def main() -> int:
    """Prepare, start both servers, measure interleaved, print, stop."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--no-log", action="store_true",
                        help="serve without the request log (MLflow's server keeps none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
        work = Path(scratch)
        package, _, mlflow_model = prepare(work)
        servers = start_servers(package, mlflow_model, work, log=not args.no_log)
        try:
            report(measure(servers, args.rounds, args.seconds), args.rounds)
        finally:
            for _, proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
