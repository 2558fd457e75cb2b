"""CLI adapters of serving: serve (with a canary), smoke, monitor.

Same contract as ``cli``: one core call, human text or ``--json``, exit 0/1/2.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from .cli_common import Outcome, open_store
from .cli_models import _say
from .errors import ConfigError


def _options(args: argparse.Namespace):
    from .registry.serving import ServeOptions  # pylint: disable=import-outside-toplevel

    if args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: give at least one worker process")
    return ServeOptions(args.workers, args.max_bytes,
                        "" if args.no_log else (str(Path(args.log).resolve()) if args.log
                                                else None))


def _canary(args: argparse.Namespace, target, scratch: Path):
    from .registry import canary, serving  # pylint: disable=import-outside-toplevel

    candidate = serving.resolve(None, args.canary)
    canary.check_fraction(args.canary_fraction)
    try:
        canary.serve_canary(target, candidate, args.canary_fraction, args.port, scratch,
                            options=_options(args), python=args.python, progress=_say)
    except KeyboardInterrupt:
        pass
    return Outcome({"target": target.label, "canary": candidate.label, "exit_code": 0}, "")


def serve(args: argparse.Namespace):
    """``serve DIR|M:VERSION --port P [--canary M:V]``: in the foreground until Ctrl-C or
    SIGTERM."""
    import signal  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel

    from .errors import ExecutionError  # pylint: disable=import-outside-toplevel
    from .processes import bound_to_parent  # pylint: disable=import-outside-toplevel
    from .registry import serving  # pylint: disable=import-outside-toplevel

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # like Ctrl-C: stop the server, remove the scratch
    target = serving.resolve(None, args.target, args.runtime)
    serving.check_port_free(args.port)
    options = _options(args)
    with tempfile.TemporaryDirectory(prefix="mlops-serve-") as scratch:
        if args.canary:
            return _canary(args, target, Path(scratch))
        model_dir = serving.ensure_model(target, Path(scratch), args.python, _say)
        argv = serving.serve_argv(target, args.port, args.python, options, model_dir)
        env = serving.server_env(target, model_dir)
        # Not `with Popen`: its exit waits for the child, which _stop must end first.
        # bound to us: a kill -9 of `serve` takes its server down too
        proc = subprocess.Popen(bound_to_parent(argv), cwd=target.notebook_dir, env=env,  # pylint: disable=consider-using-with
                                stdout=subprocess.PIPE, text=True)
        try:
            listening = proc.stdout.readline()  # the server prints its address once bound
            if not listening:
                raise ExecutionError(f"the scoring server of {target.label} exited with code "
                                     f"{proc.wait()} before listening on port {args.port}")
            # listening, but loading the model: announced once /health answers
            serving.wait_for_health(f"http://127.0.0.1:{args.port}", proc, target.label, 600)
            _say(f"serving {target.label} ({target.runtime} runtime) on http://127.0.0.1:"
                 f"{args.port} with {options.workers} worker(s) (POST /score, GET /health, "
                 "/openapi.json, /docs); Ctrl-C stops")
            if args.json:
                print(listening.strip(), flush=True)
            code = proc.wait()
        except KeyboardInterrupt:
            code = _stop(proc)
        finally:
            if proc.poll() is None:
                _stop(proc)
            proc.stdout.close()
    return Outcome({"target": target.label, "exit_code": code}, "", 0 if code in (0, -15)
                    else 1)


def _stop(proc: subprocess.Popen) -> int:
    """Terminate the server (kill it if it does not stop); its exit code."""
    proc.terminate()
    try:
        return proc.wait(timeout=35)  # the server finishes its requests in flight first
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (1-65535)")
    return port


def smoke(args: argparse.Namespace):
    """``smoke DIR|M:VERSION``."""
    from .registry import serving  # pylint: disable=import-outside-toplevel

    result = serving.smoke(serving.resolve(None, args.target, args.runtime), args.python,
                           _say)
    return Outcome(result, f"smoke test of {result['target']} passed: {result['records']} "
                    "records served as the model predicts them; server stopped"
                    + "".join(f"\n  note: {n}" for n in result["notes"]))


def monitor(args: argparse.Namespace):
    """``monitor M[:V] [--log FILE]``: exit 1 when any threshold is crossed."""
    from .registry.monitoring import monitor as core  # pylint: disable=import-outside-toplevel
    from .tolerances import parse_tolerances  # pylint: disable=import-outside-toplevel

    given = parse_tolerances(args.threshold, "NAME=VALUE (e.g. psi=0.25)")
    report = core(open_store(), args.model, log=Path(args.log) if args.log else None,
                  thresholds=given, report=Path(args.report) if args.report else None)
    return Outcome(report.to_dict(), report.table(), 1 if report.drifted else 0)


def _target(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="DIR|M:VERSION",
                   help="a productionized package folder or a registered model version")
    p.add_argument("--python", help="interpreter of the environment to serve from "
                   "(default: this one)")
    p.add_argument("--runtime", choices=["sklearn", "onnx"], default="sklearn",
                   help="the model score.py runs: model.pkl, or model.onnx with onnxruntime "
                        "(needs a passed `convert --to onnx`)")


def _configure_serve(p: argparse.ArgumentParser) -> None:
    _target(p)
    p.add_argument("--port", type=_port, default=8080, help="TCP port on 127.0.0.1 "
                   "(1-65535, default 8080)")
    p.add_argument("--workers", type=int, default=1, help="server worker processes")
    p.add_argument("--max-bytes", type=int, default=1_000_000,
                   help="largest request body accepted (413 above)")
    p.add_argument("--log", help="JSON-lines request log (default: requests.jsonl beside "
                   "the model)")
    p.add_argument("--no-log", action="store_true", help="log no requests")
    p.add_argument("--canary", metavar="DIR|M:VERSION",
                   help="a candidate version answering --canary-fraction of POST /score")
    p.add_argument("--canary-fraction", type=float, default=0.1,
                   help="share of scoring requests the canary answers (default 0.1)")


def _configure_monitor(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="M[:V]", help="a registered model (its production "
                   "version, else the newest) or one version")
    p.add_argument("--log", help="request log (default: the version's requests.jsonl)")
    p.add_argument("--report", help="HTML report to write (default: .mlops/reports/)")
    p.add_argument("--threshold", action="append", metavar="NAME=VALUE",
                   help="ks_pvalue, psi, chi2_pvalue, unseen_fraction, null_rate_increase, "
                        "min_rows (also [tool.jupyter-mlops.monitor] in pyproject.toml)")


def configure(commands: list) -> None:
    """Append the serving subcommands to the CLI's command table."""
    commands += [
        ("serve", "serve score.py over HTTP on 127.0.0.1 (POST /score, GET /health, "
         "/openapi.json, /docs)", _configure_serve, serve),
        ("smoke", "start the server, send the recorded sample, compare, stop", _target, smoke),
        ("monitor", "compare served requests with the training profile; exit 1 on drift",
         _configure_monitor, monitor),
    ]
