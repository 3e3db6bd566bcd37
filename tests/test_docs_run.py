"""Every code block in README.md and docs/*.md runs in the test suite, or says why not.

How to mark a block (an HTML comment on the line just before its opening fence; Markdown
renders nothing for it):

``<!-- run -->``
    The block is executed as written. Python: in a fresh interpreter. Shell (```bash,
    ```console, or an unlabelled block of commands): each ``translkit ...`` command (after
    ``$ `` in console blocks; ``# comments`` dropped) through the CLI in-process, and it must
    exit 0. Both run in a sandbox folder that holds tiny stand-ins for the paths the docs
    use (``best.pt``, ``photos/``, ``runs/quickstart``, ``data/leather_denim``, ... see
    :func:`sandbox`), with ``recipes/`` of this checkout. Docs whose own test already runs
    their ``run`` blocks (with assertions on what they print) are listed in RUN_ELSEWHERE.
``<!-- file: NAME.py -->``
    The block is a module written to NAME.py before the doc's ``run`` blocks (which import
    it); it runs through them.
``<!-- not run: REASON -->``
    Deliberately not executed: REASON says why in a few words (it downloads, trains for an
    hour, needs a GPU or a server, installs packages...). Keep the reason honest.

Blocks that are not code need no marker: toml/json/text blocks, and unlabelled blocks of
output or diagrams (no line starts with a command). A Python or shell block without a
marker fails ``test_every_code_block_runs_or_says_why_not``. The imports of every Python
block come from the public API (``translkit.__all__`` and the public modules that
docs/architecture.md lists), and those lists agree with docs/plugins.md and the code.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from scoring_support import generators_checkpoint, make_run_dir, write_images
from test_architecture import PUBLIC
from typer.testing import CliRunner

import translkit
from translkit.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: docs whose ``<!-- run -->`` Python blocks their own test executes (and checks the output of)
RUN_ELSEWHERE = {
    "docs/plugins.md": "tests/test_docs.py",
    "docs/data.md": "tests/test_data_docs.py",
    "docs/components.md": "tests/test_components_docs.py",
    "docs/training.md": "tests/test_training_run.py",
    "docs/models.md": "tests/test_pretrained_docs.py",
}
SHELL_LANGS = {"bash", "sh", "shell", "console"}
COMMANDS = ("translkit", "python", "python3", "pip", "curl", ".venv/bin/python", "torchrun")
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.S | re.M,
)
MARKER = re.compile(r"^<!-- (run|file: \S+|not run: .+) -->$")


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    lang: str  # "python", "shell" or "" (not code)
    body: str
    marker: str  # "run", "file: NAME", "not run: REASON" or ""

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _kind(lang: str, body: str) -> str:
    if lang in ("python", "py"):
        return "python"
    if lang in SHELL_LANGS:
        return "shell"
    if lang == "" and any(
        line.lstrip("$ ").split(" ")[0] in COMMANDS for line in body.splitlines()
    ):
        return "shell"
    return ""


def blocks_of(path: Path, root: Path = ROOT) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        marker = MARKER.match(before)
        out.append(
            Block(
                doc=path.relative_to(root).as_posix(),
                line=text[: m.start()].count("\n") + 1,
                lang=_kind(m.group("lang"), m.group("body")),
                body=m.group("body"),
                marker=marker.group(1) if marker else "",
            )
        )
    return out


BLOCKS = [b for doc in DOCS for b in blocks_of(doc)]
CODE = [b for b in BLOCKS if b.lang]
RUN_HERE = [
    b for b in CODE if b.marker == "run" and not (b.lang == "python" and b.doc in RUN_ELSEWHERE)
]


def shell_commands(body: str, *, console: bool) -> list[list[str]]:
    """The command lines of a shell block, split as a shell would (comments dropped)."""
    out = []
    for raw in body.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if console:
            if not line.startswith("$ "):
                continue  # output
            line = line[2:]
        words = shlex.split(line, comments=True)
        if words:
            out.append(words)
    return out


# -- the rule ------------------------------------------------------------------------------
def test_every_code_block_runs_or_says_why_not() -> None:
    unmarked = [b.id for b in CODE if not b.marker]
    assert not unmarked, (
        f"code blocks with no marker: {unmarked}; put <!-- run --> or "
        "<!-- not run: REASON --> on the line before each (see tests/test_docs_run.py)"
    )
    for b in CODE:
        if b.marker.startswith("not run:"):
            assert len(b.marker) > len("not run: ") + 8, f"{b.id}: give a reason"
        if b.marker == "run" and b.lang == "shell":
            assert shell_commands(b.body, console="$ " in b.body), f"{b.id}: no command"
            for words in shell_commands(b.body, console="$ " in b.body):
                assert words[0] == "translkit", f"{b.id}: only translkit commands run: {words}"


def test_the_rule_catches_an_unmarked_block(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "text\n\n```bash\ntranslkit list\n```\n\n<!-- not run: needs the network -->\n"
        "```python\nimport translkit\n```\n\n```\noutput line\n```\n"
    )
    found = [(b.lang, b.marker) for b in blocks_of(doc, tmp_path)]
    assert found == [("shell", ""), ("python", "not run: needs the network"), ("", "")]


def test_docs_run_elsewhere_are_run_there() -> None:
    for doc, test in RUN_ELSEWHERE.items():
        source = (ROOT / test).read_text()
        assert Path(doc).name in source and "<!-- run -->" in source, f"{test} runs {doc}"


def test_count_of_doc_blocks_the_suite_executes(capsys: pytest.CaptureFixture[str]) -> None:
    run = [b for b in CODE if b.marker == "run"]
    files = [b for b in CODE if b.marker.startswith("file:")]
    not_run = [b for b in CODE if b.marker.startswith("not run:")]
    commands = sum(
        len(shell_commands(b.body, console="$ " in b.body)) for b in run if b.lang == "shell"
    )
    with capsys.disabled():
        print(
            f"\ndoc code blocks: {len(CODE)}; executed by the suite: {len(run) + len(files)} "
            f"({len([b for b in run if b.lang == 'python'])} Python run, {len(files)} Python "
            f"modules they import, {len([b for b in run if b.lang == 'shell'])} shell blocks "
            f"= {commands} commands); marked not run: {len(not_run)}"
        )
    assert len(run) + len(files) >= 20


# -- the public API --------------------------------------------------------------------------
def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_public_api_lists_agree() -> None:
    """translkit.__all__, docs/architecture.md's public API and docs/plugins.md name the same."""
    arch = _section((ROOT / "docs" / "architecture.md").read_text(), "## The public API")
    facade = set(re.findall(r"`(\w+)`", arch.split("Modules:")[0]))
    assert facade == set(translkit.__all__), (
        f"docs/architecture.md lists {sorted(facade - set(translkit.__all__))} not in "
        f"translkit.__all__, and misses {sorted(set(translkit.__all__) - facade)}"
    )
    arch_modules = set(re.findall(r"`(translkit(?:\.[\w.]+)?)`", arch.split("Modules:")[1]))
    assert arch_modules == PUBLIC
    plugins_md = (ROOT / "docs" / "plugins.md").read_text()
    sentence = plugins_md[plugins_md.index("(the\npublic API:") :].split(")")[0]
    assert set(re.findall(r"`(translkit(?:\.[\w.]+)?)`", sentence)) == PUBLIC


@pytest.mark.slow
def test_every_public_name_resolves() -> None:
    for name in translkit.__all__:
        assert hasattr(translkit, name), name


def _imports(code: str) -> list[tuple[str, str | None]]:
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names]
    return [(m, n) for m, n in found if m.split(".")[0] == "translkit"]


@pytest.mark.parametrize(
    "block",
    [b for b in CODE if b.lang == "python" and b.marker != "not run: signatures, not code"],
    ids=lambda b: b.id,
)
def test_doc_examples_import_only_the_public_api(block: Block) -> None:
    for module, name in _imports(block.body):
        assert module in PUBLIC, f"{block.id} imports {module}, which is not public API"
        if module == "translkit" and name is not None:
            assert name in translkit.__all__, f"{block.id}: translkit.{name} is not public"
    used = set(re.findall(r"\btranslkit\.([A-Za-z_]\w*)\b", block.body))
    assert used <= set(translkit.__all__) | {m.split(".")[1] for m in PUBLIC if "." in m}, used


# -- running them --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny stand-ins for every path the docs' runnable blocks name."""
    from translkit_plugins.inception import write_random_weights

    box = tmp_path_factory.mktemp("docs")
    (box / "recipes").symlink_to(ROOT / "recipes")
    data = box / "data" / "leather_denim"
    for i, split in enumerate(("trainA", "trainB", "testA", "testB")):
        write_images(data / split, 4, seed=i, bias=40 * i)
    write_images(box / "data" / "testB", 4, seed=7)
    write_images(box / "out" / "a2b", 4, seed=8)
    write_images(box / "photos", 3, [(40, 32), (33, 47), (64, 64)], seed=9)
    write_images(box, 1, (48, 40), seed=10, suffix=".jpg")[0].rename(box / "photo.jpg")
    weights = write_random_weights(box / "weights-inception-2015-12-05-6726825d.pth")
    generators_checkpoint(box / "best.pt", ngf=4)
    for name in ("quickstart", "leather2denim", "x", "l2d"):
        run = make_run_dir(box / "runs" / name, data, weights=str(weights))
        shutil.copy(run / "checkpoints" / "latest.pt", run / "checkpoints" / "best.pt")
    (box / "reports").mkdir()
    return box


def _env(box: Path) -> dict[str, str]:
    return {
        "HOME": str(box),
        "TRANSLKIT_INCEPTION_WEIGHTS": str(box / "weights-inception-2015-12-05-6726825d.pth"),
        "TRANSLKIT_CACHE": str(box / ".cache"),
    }


def _cheap(words: list[str]) -> bool:
    """Listing, --help, --dry-run, data info: in the fast lane; exports and the like: slow."""
    return (
        words[1:2] in (["list"], ["plugins"])
        or words[1:3] == ["data", "info"]
        or "--dry-run" in words
        or "--help" in words
    )


def _shell_param(block: Block):  # type: ignore[no-untyped-def]
    cheap = all(_cheap(w) for w in shell_commands(block.body, console="$ " in block.body))
    return pytest.param(block, id=block.id, marks=() if cheap else pytest.mark.slow)


@pytest.mark.parametrize("block", [_shell_param(b) for b in RUN_HERE if b.lang == "shell"])
def test_shell_block_runs(block: Block, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(sandbox)
    for words in shell_commands(block.body, console="$ " in block.body):
        result = CliRunner().invoke(app, words[1:], env=_env(sandbox))
        assert result.exit_code == 0, f"{block.id}: {shlex.join(words)}\n{result.output}"


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in RUN_HERE if b.lang == "python"], ids=lambda b: b.id)
def test_python_block_runs(block: Block, sandbox: Path) -> None:
    env = {**os.environ, **_env(sandbox), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", block.body],
        cwd=sandbox,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, f"{block.id}:\n{out.stderr[-3000:]}"


# -- the README's set-up is what CI runs -------------------------------------------------------
def test_ci_runs_the_readmes_setup_and_test_commands() -> None:
    readme = [b for b in blocks_of(ROOT / "README.md") if b.lang == "shell"]
    setup, tests = readme[0].body.strip(), readme[1].body.strip()
    assert setup.endswith(" && translkit run recipes/quickstart.toml")
    ci = (ROOT / ".ci" / "run").read_text()
    assert setup.removesuffix(" && translkit run recipes/quickstart.toml") in ci.splitlines()
    assert tests in ci.splitlines()
    assert "translkit-tiny" not in setup and "translkit-tiny" in tests
