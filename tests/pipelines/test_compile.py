"""Compiling the bundled examples into KFP v2 pipelines, checked with kfp's own loader."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kfp import components

from jupyter_mlops.cli import main
from jupyter_mlops.pipelines import compile_pipeline
from jupyter_mlops.pipelines.steps import training_steps
from jupyter_mlops.registry.store import Registry
from jupyter_mlops.store import RunStore

STEPS = {
    "churn": ["load_data", "featurize", "train", "evaluate", "gate"],
    "boosting": ["load_data", "train", "evaluate", "gate"],
    "diabetes": ["load_data", "featurize", "train", "evaluate", "gate"],
    "spam": ["load_data", "featurize", "train", "featurize_2", "train_2", "evaluate", "gate"],
}


def _spec(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _artifact_types(spec: dict, component: str, side: str) -> dict:
    definitions = spec["components"][f"comp-{component.replace('_', '-')}"][side]
    return {name: item["artifactType"]["schemaTitle"]
            for name, item in definitions.get("artifacts", {}).items()}


@pytest.mark.parametrize("name", sorted(STEPS))
def test_each_example_compiles_to_one_component_per_step(example, tmp_path, name):
    notebook = example(name)
    out = tmp_path / f"{name}.yaml"
    compiled = compile_pipeline(notebook, out, out=notebook.parent / "package")
    assert list(compiled.steps) == STEPS[name]
    loaded = components.load_component_from_file(str(out))  # kfp's own loader
    assert loaded.name == name
    tasks = _spec(out)["root"]["dag"]["tasks"]
    assert sorted(tasks) == sorted(s.replace("_", "-") for s in STEPS[name])
    gate = _artifact_types(_spec(out), "gate", "outputDefinitions")
    assert gate == {"candidate": "system.Model", "verdict": "system.Metrics"}
    assert _artifact_types(_spec(out), "evaluate", "outputDefinitions") == {
        "metrics": "system.Metrics"}


def test_steps_pass_data_as_datasets_and_fitted_objects_as_models(example, tmp_path):
    notebook = example("churn")
    out = tmp_path / "churn.yaml"
    compile_pipeline(notebook, out, out=notebook.parent / "package")
    spec = _spec(out)
    assert _artifact_types(spec, "train", "inputDefinitions") == {
        "X": "system.Dataset", "y": "system.Dataset"}
    assert _artifact_types(spec, "train", "outputDefinitions") == {
        "X_test": "system.Dataset", "y_test": "system.Dataset", "model": "system.Model"}
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["C"] == {"defaultValue": 1.0, "isOptional": True,
                               "parameterType": "NUMBER_DOUBLE"}
    assert parameters["data_path"]["defaultValue"] == "customers.csv"
    # components install the package's pinned requirements on the base image
    executor = spec["deploymentSpec"]["executors"]["exec-train"]["container"]
    assert executor["image"].startswith("python:3.")
    assert "'scikit-learn==" in " ".join(executor["command"])


def test_trained_state_travels_as_a_model_artifact(example):
    notebook = example("spam")
    source = (notebook.parent / "package" / "spam" / "train.py").read_text(encoding="utf-8")
    steps = training_steps(source, "spam")
    assert steps.state == "state" and steps.kept == ("vectorizer",)
    assert steps.models == {"model", "state", "vectorizer"}
    by_name = {s.name: s for s in steps.steps}
    assert "vectorizer" in by_name["featurize_2"].writes
    assert by_name["evaluate"].statements[-1] == "state.keep(vectorizer=vectorizer)"


def test_the_same_package_compiles_to_the_same_bytes(example, tmp_path):
    notebook = example("churn")
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    compile_pipeline(notebook, first, out=notebook.parent / "package")
    compile_pipeline(notebook, second, out=notebook.parent / "package")
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("argv, named", [
    (["-p", "C", "abc"], "parameter `C` expects a float"),
    (["-p", "C", "0.1,x"], "parameter `C` expects a float"),
    (["-p", "learning_rate", "0.1"], "parameter `learning_rate` is not in the notebook's"),
])
def test_a_bad_parameter_is_exit_2_naming_it_before_compiling(example, tmp_path, capsys,
                                                              argv, named):
    notebook = example("churn")
    out = tmp_path / "churn.yaml"
    assert main(["pipeline", str(notebook), "--kfp", str(out), *argv]) == 2
    assert named in capsys.readouterr().err
    assert not out.exists()


def test_a_comma_list_compiles_into_a_parallel_for_sweep(example, tmp_path, capsys):
    notebook = example("churn")
    out = tmp_path / "churn.yaml"
    assert main(["pipeline", str(notebook), "--kfp", str(out), "--out",
                 str(notebook.parent / "package"), "-p", "C", "0.1,1,10", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["sweep"] == [{"C": 0.1}, {"C": 1.0}, {"C": 10.0}]
    spec = _spec(out)
    (loop_name, loop), = spec["root"]["dag"]["tasks"].items()
    assert loop_name.startswith("for-loop-")
    assert loop["parameterIterator"]["items"]["raw"] == json.dumps(payload["sweep"])
    inner = spec["components"][f"comp-{loop_name}"]["dag"]["tasks"]
    assert sorted(inner) == ["evaluate", "featurize", "gate", "load-data", "train"]
    assert "C" not in spec["root"]["inputDefinitions"]["parameters"]


def test_the_gate_compares_with_the_production_version(example, tmp_path):
    notebook = example("churn")
    project = notebook.parent
    (project / "pyproject.toml").write_text(
        "[tool.jupyter-mlops.validate]\naccuracy = -0.01\n", encoding="utf-8")
    store = RunStore(project / ".mlops")
    run_id = store.create_run("churn.ipynb", None, {})
    staged = tmp_path / "staged"
    staged.mkdir()
    registry = Registry(store)
    version = registry.add("churn", run_id, staged, {"metrics": {"accuracy": 0.8, "f1": 0.7}})
    registry.set_stage("churn", version.version, "production", reason="test", details={})
    out = tmp_path / "churn.yaml"
    compiled = compile_pipeline(notebook, out, out=project / "package")
    assert compiled.production == "churn:1"
    rules = _spec(out)["root"]["inputDefinitions"]["parameters"]["mlops_gate"]["defaultValue"]
    assert rules["accuracy"] == {"production": 0.8, "tolerance": -0.01, "higher_is_better": True}
    assert "tolerance" not in rules["f1"]  # not gated
    assert "gate: against production churn:1" in compiled.summary()


def test_ci_init_compiles_the_pipeline_and_keeps_the_yaml(example, capsys):
    from jupyter_mlops.registry import ci  # pylint: disable=import-outside-toplevel

    notebook = example("churn")
    project = notebook.parent
    assert main(["ci", "init", "--project", str(project), "--notebook", notebook.name]) == 0
    assert main(["ci", "init", "--provider", "azure", "--project", str(project),
                 "--notebook", notebook.name]) == 0
    capsys.readouterr()
    github = yaml.safe_load((project / ".github" / "workflows" / "mlops.yml").read_text())
    steps = github["jobs"]["mlops"]["steps"]
    names = [s.get("run", "").split(" ")[:3] for s in steps]
    at = names.index(["jupyter", "mlops", "pipeline"])
    assert steps[at]["run"] == ("jupyter mlops pipeline churn.ipynb --out build/churn "
                                "--kfp build/churn.pipeline.yaml")
    assert names.index(["jupyter", "mlops", "productionize"]) < at
    assert steps[at + 1]["uses"] == "actions/upload-artifact@v4"
    assert steps[at + 1]["with"]["path"] == "build/churn.pipeline.yaml"
    azure = yaml.safe_load((project / "azure-pipelines.yml").read_text())["steps"]
    kept = [s for s in azure if s.get("task") == "PublishPipelineArtifact@1"]
    assert kept[0]["inputs"]["targetPath"] == "build/churn.pipeline.yaml"
    # the compile command itself works (from the project, as CI runs it)
    command = ci.workflow_steps(project / ".github" / "workflows" / "mlops.yml")
    compile_step = next(s for s in command if "pipeline" in s["command"])
    argv = compile_step["command"].split()[2:]
    argv[argv.index("churn.ipynb")] = str(notebook)
    argv[argv.index("build/churn")] = str(project / "package")
    argv[argv.index("build/churn.pipeline.yaml")] = str(project / "churn.pipeline.yaml")
    assert main(argv) == 0
    assert components.load_component_from_file(str(project / "churn.pipeline.yaml")).name \
        == "churn"


def test_without_the_kfp_sdk_the_command_names_the_extra(example, tmp_path):
    notebook = example("churn")
    script = ("import sys; sys.modules['kfp'] = None  # as if it were not installed\n"
              "from jupyter_mlops.cli import main\n"
              f"sys.exit(main(['pipeline', {str(notebook)!r}, '--kfp', 'x.yaml']))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.returncode == 2
    assert "pip install 'jupyter-mlops[kfp]'" in done.stderr
    assert not (tmp_path / "x.yaml").exists()
