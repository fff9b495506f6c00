"""The README's commands are the ones CI runs and the ones that work."""

from pathlib import Path

REPO = Path(__file__).parent.parent


def readme_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.startswith("python3 -m venv")]


def test_readme_has_the_two_commands_and_ci_runs_the_test_one():
    install_and_run, install_and_test = readme_commands()
    assert "luoshi " in install_and_run and "examples/" in install_and_run
    assert "pytest" in install_and_test
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert install_and_test in [line.strip() for line in ci]


def venv_folder(command: str) -> str:
    """The folder `python3 -m venv [--clear] FOLDER` makes, checked against each use of it."""
    words = command.split(" && ")[0].split()
    folder = words[-1]
    assert words[:3] == ["python3", "-m", "venv"] and all(
        part.startswith(f"{folder}/bin/") for part in command.split(" && ")[1:])
    return folder


def test_the_test_command_starts_from_a_fresh_venv_of_its_own():
    """Run after the first, the second command would otherwise test whatever the first
    installed (and what a developer installed there since)."""
    install_and_run, install_and_test = readme_commands()
    assert venv_folder(install_and_run) != venv_folder(install_and_test)
    assert install_and_test.startswith("python3 -m venv --clear ")


def test_both_commands_build_the_engine_from_the_vendored_source():
    """PyPI's durable-rules does not import on Python 3.13 (docs/deploy.md)."""
    for command in readme_commands():
        install = command.split(" && ")[1].split()
        assert install[1:3] == ["install", "./third_party/durable-rules"], install
    assert (REPO / "third_party" / "durable-rules" / "setup.py").is_file()


def test_the_example_the_readme_runs_exists():
    install_and_run, _ = readme_commands()
    example = install_and_run.split("luoshi load ")[1].split()[0]
    assert (REPO / example).is_file()


def test_every_package_folder_is_installed():
    """A subpackage missing from pyproject.toml works in a checkout and fails when installed."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    roots = {folder: package for package, folder in config["package-dir"].items()}
    found = set()
    for folder, package in roots.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((package, *relative)))
    assert found == set(config["packages"])
