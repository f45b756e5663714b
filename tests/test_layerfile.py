"""Tests for ciapp.layerfile.

The corpus of real Layerfiles is read in place from ``../shared/corpus`` next
to the project; without it those tests are skipped and the rest still run.
"""

from __future__ import annotations

import csv
import os
import pathlib
import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ciapp.layerfile import (
    Aws,
    BuildEnv,
    Button,
    Cache,
    Checkpoint,
    Clone,
    Condition,
    Copy,
    Env,
    ExposeTcp,
    ExposeWebsite,
    From,
    Instruction,
    Label,
    Layerfile,
    LayerfileError,
    Memory,
    Run,
    SecretEnv,
    SetupFile,
    SkipRemainingIf,
    Split,
    User,
    Wait,
    Workdir,
    discover,
    parse,
    resolve_layerfile_path,
    runner_name,
)

PROJECT_ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = PROJECT_ROOT.parent / "shared" / "corpus" / "layerfiles"
MANIFEST = CORPUS / "MANIFEST.tsv"

_LINE_END = re.compile(r"\r\n|\r|\n")
_CONTINUATION = re.compile(r"\\[ \t]*$")


def _physical_lines(text: str) -> list[str]:
    return _LINE_END.split(text.removeprefix("\ufeff"))


def _assert_lines_point_at_instructions(text: str, layerfile: Layerfile) -> None:
    """Each instruction's line is the physical line its text starts on."""
    lines = _physical_lines(text)
    numbers = [instruction.line for instruction in layerfile.instructions]
    assert numbers == sorted(set(numbers))
    for instruction in layerfile.instructions:
        assert 1 <= instruction.line <= len(lines)
        physical = lines[instruction.line - 1]
        if instruction.line < len(lines):
            physical = _CONTINUATION.sub("", physical)
        start = physical.strip(" \t")
        assert start
        assert instruction.text.startswith(start)


# The corpus


def _manifest() -> list[dict[str, str]]:
    if not MANIFEST.is_file():
        return []
    with MANIFEST.open(newline="", encoding="utf-8") as manifest:
        return list(csv.DictReader(manifest, dialect="excel-tab"))


CORPUS_ROWS = _manifest()


def _rows(verdict: str) -> list[object]:
    rows: list[object] = [
        pytest.param(row, id=f"{row['repository']}/{row['path']}")
        for row in CORPUS_ROWS
        if row["expected"].partition(":")[0] == verdict
    ]
    if not rows:
        skip = pytest.mark.skip(reason=f"no Layerfile corpus at {CORPUS}")
        return [pytest.param(None, marks=skip, id="no-corpus")]
    return rows


def _repository(row: dict[str, str]) -> pathlib.Path:
    return CORPUS / row["repository"].replace("/", "__")


def _read(row: dict[str, str]) -> str:
    # Bytes, so that line ends reach the parser as they are in the file.
    return (_repository(row) / row["path"]).read_bytes().decode("utf-8")


def _joined_line(text: str, physical_line: int) -> int:
    """The number of a physical line once continued lines are joined."""
    before = _physical_lines(text)[: physical_line - 1]
    return physical_line - sum(1 for line in before if _CONTINUATION.search(line))


# Links in the corpus to files that their repositories do not have.
DANGLING_LINKS = {
    ("isgasho/layerfiles", "pkg/layerfile/parser_test.go.ExampleLayerfile/Layerfile"),
    ("Peter8234/plugins-layerfile", "src/Layerfile"),
    ("Peter8234/vscode-layerfile", "layerfile"),
}


@pytest.mark.parametrize("row", _rows("valid"))
def test_it_accepts_the_valid_corpus(row: dict[str, str]) -> None:
    text = _read(row)

    layerfile = parse(text, row["path"])

    assert layerfile.path == row["path"]
    assert isinstance(layerfile.base, From)
    _assert_lines_point_at_instructions(text, layerfile)
    links = list(layerfile.wait_paths)
    if layerfile.parent_path is not None:
        links.append(layerfile.parent_path)
    key = (row["repository"], row["path"])
    if row["source"] == "repo" and key not in DANGLING_LINKS:
        for link in links:
            assert (_repository(row) / link).is_file(), link


@pytest.mark.parametrize("row", _rows("invalid"))
def test_it_rejects_the_invalid_corpus_for_its_reason(row: dict[str, str]) -> None:
    match = re.fullmatch(r"invalid: line (\d+): (.+)", row["expected"])
    assert match, row["expected"]
    line, reason = int(match[1]), match[2]
    text = _read(row)

    with pytest.raises(LayerfileError) as raised:
        parse(text, row["path"])

    error = raised.value
    assert error.path == row["path"]
    assert reason in error.message
    # The manifest counts lines after continued lines are joined, as
    # webapp.io's parser does; errors here name the physical line.
    assert _joined_line(text, error.line) == line


def test_it_counts_physical_lines_where_webapp_io_counts_joined_ones() -> None:
    row = {
        "repository": "webappio/docs",
        "path": "docs/advanced-workflows/routing.mdx.L98/Layerfile",
    }
    if not (_repository(row) / row["path"]).is_file():
        pytest.skip(f"no Layerfile corpus at {CORPUS}")
    text = _read(row)

    with pytest.raises(LayerfileError) as raised:
        parse(text, row["path"])

    assert raised.value.line == 14
    assert _physical_lines(text)[13].startswith("https://gist.github")
    assert _joined_line(text, 14) == 6


@pytest.mark.parametrize("row", _rows("fragment"))
def test_it_parses_fragments_only_as_fragments(row: dict[str, str]) -> None:
    reason = row["expected"].removeprefix("fragment: ")
    text = _read(row)

    with pytest.raises(LayerfileError) as raised:
        parse(text, row["path"])
    layerfile = parse(text, row["path"], fragment=True)

    assert reason in raised.value.message
    assert raised.value.line == layerfile.instructions[0].line
    _assert_lines_point_at_instructions(text, layerfile)


@pytest.mark.parametrize(
    "repository, expected",
    [
        # Layerfile2 beside Layerfile is not a Layerfile.
        ("omisteck__loanify", ["Layerfile"]),
        # Neither is layerfile.
        ("Web4application__web4app.io", ["Layerfile"]),
        ("Baguignan__livechat-example", ["Layerfile"]),
        (
            "ConnorMacKenzieLayer__testing",
            ["Layerfile", "second/Layerfile", "tests/Layerfile"],
        ),
    ],
)
def test_it_discovers_corpus_layerfiles_by_exact_name(
    repository: str, expected: list[str]
) -> None:
    if not (CORPUS / repository).is_dir():
        pytest.skip(f"no Layerfile corpus at {CORPUS}")

    assert discover(CORPUS / repository) == expected


# Small Layerfiles, parsed as fragments so that each instruction is on line 1


def _one(text: str) -> Instruction:
    layerfile = parse(text, "ci/tests/Layerfile", fragment=True)
    assert len(layerfile.instructions) == 1
    return layerfile.instructions[0]


GIB = 1024**3

INSTRUCTIONS = [
    ("FROM vm/ubuntu:22.04", From(1, "FROM vm/ubuntu:22.04", "vm/ubuntu:22.04")),
    ("FROM ../base  # parent", From(1, "FROM ../base  # parent", "../base")),
    ("RUN npm test", Run(1, "RUN npm test", "npm test", "")),
    (
        "RUN BACKGROUND  node app.js",
        Run(1, "RUN BACKGROUND  node app.js", "node app.js", "BACKGROUND"),
    ),
    (
        "RUN REPEATABLE docker-compose build",
        Run(
            1,
            "RUN REPEATABLE docker-compose build",
            "docker-compose build",
            "REPEATABLE",
        ),
    ),
    (
        "RUN echo hi # for the shell",
        Run(1, "RUN echo hi # for the shell", "echo hi # for the shell", ""),
    ),
    ("RUN BACKGROUNDER", Run(1, "RUN BACKGROUNDER", "BACKGROUNDER", "")),
    ("RUN\techo tab   ", Run(1, "RUN\techo tab", "echo tab", "")),
    ("COPY . .", Copy(1, "COPY . .", (".",), ".")),
    (
        "COPY package.json yarn.lock ./",
        Copy(1, "COPY package.json yarn.lock ./", ("package.json", "yarn.lock"), "./"),
    ),
    ('COPY "my dir" /app', Copy(1, 'COPY "my dir" /app', ("my dir",), "/app")),
    ("COPY . .  # all of it", Copy(1, "COPY . .  # all of it", (".",), ".")),
    ("ENV CI=true", Env(1, "ENV CI=true", (("CI", "true"),))),
    (
        'ENV A=1 B="two words" C=$PATH',
        Env(
            1,
            'ENV A=1 B="two words" C=$PATH',
            (("A", "1"), ("B", '"two words"'), ("C", "$PATH")),
        ),
    ),
    ("ENV GOPATH /go", Env(1, "ENV GOPATH /go", (("GOPATH", "/go"),))),
    ("ENV a=b c d", Env(1, "ENV a=b c d", (("a", "b"), ("c", "d")))),
    (
        "ENV URL http://x/?a=b",
        Env(1, "ENV URL http://x/?a=b", (("URL", "http://x/?a=b"),)),
    ),
    (
        "ENV a=`echo hello` b=$(echo hi there)",
        Env(
            1,
            "ENV a=`echo hello` b=$(echo hi there)",
            (("a", "`echo hello`"), ("b", "$(echo hi there)")),
        ),
    ),
    ("ENV A=1 \\ B=2", Env(1, "ENV A=1 \\ B=2", (("A", "1"), ("B", "2")))),
    ("ENV EMPTY=", Env(1, "ENV EMPTY=", (("EMPTY", ""),))),
    (
        "BUILD ENV GIT_BRANCH SUBDOMAIN",
        BuildEnv(1, "BUILD ENV GIT_BRANCH SUBDOMAIN", ("GIT_BRANCH", "SUBDOMAIN")),
    ),
    ("SECRET ENV API_TOKEN", SecretEnv(1, "SECRET ENV API_TOKEN", ("API_TOKEN",))),
    ("SETUP FILE .env.sh", SetupFile(1, "SETUP FILE .env.sh", ".env.sh")),
    ("WORKDIR ~/cypress", Workdir(1, "WORKDIR ~/cypress", "~/cypress")),
    ("WORKDIR '/root/my app'", Workdir(1, "WORKDIR '/root/my app'", "/root/my app")),
    ("USER testuser---z00_", User(1, "USER testuser---z00_", "testuser---z00_")),
    ("MEMORY 2G", Memory(1, "MEMORY 2G", 2 * GIB, "2G")),
    ("MEMORY 512m", Memory(1, "MEMORY 512m", 512 * 1024**2, "512m")),
    ("MEMORY 1.5G", Memory(1, "MEMORY 1.5G", 3 * GIB // 2, "1.5G")),
    ("MEMORY 64K", Memory(1, "MEMORY 64K", 64 * 1024, "64K")),
    (
        "CACHE ~/.npm ~/.cache/Cypress",
        Cache(1, "CACHE ~/.npm ~/.cache/Cypress", ("~/.npm", "~/.cache/Cypress")),
    ),
    ("CHECKPOINT", Checkpoint(1, "CHECKPOINT", None, False)),
    ("CHECKPOINT deploy", Checkpoint(1, "CHECKPOINT deploy", "deploy", False)),
    ("CHECKPOINT disabled", Checkpoint(1, "CHECKPOINT disabled", None, True)),
    ("SPLIT 5", Split(1, "SPLIT 5", 5)),
    ("SPLIT 100", Split(1, "SPLIT 100", 100)),
    ("SPLIT UNORDERED 3", Split(1, "SPLIT UNORDERED 3", 3, unordered=True)),
    ("BUTTON Deploy #1?", Button(1, "BUTTON Deploy #1?", "Deploy #1?")),
    (
        "WAIT /unit-tests /acceptance-tests",
        Wait(
            1,
            "WAIT /unit-tests /acceptance-tests",
            ("/unit-tests", "/acceptance-tests"),
        ),
    ),
    (
        "EXPOSE WEBSITE localhost:8000",
        ExposeWebsite(
            1,
            "EXPOSE WEBSITE localhost:8000",
            "localhost:8000",
            "/",
            None,
            "http",
            8000,
        ),
    ),
    (
        "EXPOSE WEBSITE http://localhost:3000 /api",
        ExposeWebsite(
            1,
            "EXPOSE WEBSITE http://localhost:3000 /api",
            "http://localhost:3000",
            "/api",
            None,
            "http",
            3000,
        ),
    ),
    (
        "EXPOSE WEBSITE https://localhost",
        ExposeWebsite(
            1,
            "EXPOSE WEBSITE https://localhost",
            "https://localhost",
            "/",
            None,
            "https",
            443,
        ),
    ),
    (
        "EXPOSE WEBSITE http://localhost/",
        ExposeWebsite(
            1,
            "EXPOSE WEBSITE http://localhost/",
            "http://localhost/",
            "/",
            None,
            "http",
            80,
        ),
    ),
    (
        "EXPOSE WEBSITE 8080 api /v1",
        ExposeWebsite(
            1, "EXPOSE WEBSITE 8080 api /v1", "8080", "/api", "/v1", "http", 8080
        ),
    ),
    (
        "EXPOSE WEBSITE localhost:80 /cypress$SPLIT",
        ExposeWebsite(
            1,
            "EXPOSE WEBSITE localhost:80 /cypress$SPLIT",
            "localhost:80",
            "/cypress$SPLIT",
            None,
            "http",
            80,
        ),
    ),
    ("EXPOSE TCP :5432", ExposeTcp(1, "EXPOSE TCP :5432", (5432,))),
    ("EXPOSE TCP :1024 8080", ExposeTcp(1, "EXPOSE TCP :1024 8080", (1024, 8080))),
    (
        "SKIP REMAINING IF GIT_BRANCH!=main",
        SkipRemainingIf(
            1,
            "SKIP REMAINING IF GIT_BRANCH!=main",
            (Condition("GIT_BRANCH", "!=", "main"),),
        ),
    ),
    (
        'SKIP REMAINING IF GIT_BRANCH =~ "m.*ster spaces" AND JOB_ID !=~ "ci/.*"',
        SkipRemainingIf(
            1,
            'SKIP REMAINING IF GIT_BRANCH =~ "m.*ster spaces" AND JOB_ID !=~ "ci/.*"',
            (
                Condition("GIT_BRANCH", "=~", "m.*ster spaces"),
                Condition("JOB_ID", "!=~", "ci/.*"),
            ),
        ),
    ),
    (
        'SKIP REMAINING IF API_EXTRA="" AND  LAYERCI != true',
        SkipRemainingIf(
            1,
            'SKIP REMAINING IF API_EXTRA="" AND  LAYERCI != true',
            (Condition("API_EXTRA", "=", ""), Condition("LAYERCI", "!=", "true")),
        ),
    ),
    (
        r'SKIP REMAINING IF GIT_COMMIT_TITLE =~ "\[skip tests\]"',
        SkipRemainingIf(
            1,
            r'SKIP REMAINING IF GIT_COMMIT_TITLE =~ "\[skip tests\]"',
            (Condition("GIT_COMMIT_TITLE", "=~", r"\[skip tests\]"),),
        ),
    ),
    (
        "SKIP REMAINING IF GIT_BRANCH!=~^(master|dev)$",
        SkipRemainingIf(
            1,
            "SKIP REMAINING IF GIT_BRANCH!=~^(master|dev)$",
            (Condition("GIT_BRANCH", "!=~", "^(master|dev)$"),),
        ),
    ),
    (
        "LABEL display_name=tests status=hidden",
        Label(
            1,
            "LABEL display_name=tests status=hidden",
            (("display_name", "tests"), ("status", "hidden")),
        ),
    ),
    (
        'LABEL display_name="Unit tests"',
        Label(1, 'LABEL display_name="Unit tests"', (("display_name", "Unit tests"),)),
    ),
    (
        "CLONE https://github.com/org/lib.git DEFAULT=main /package.json ./",
        Clone(
            1,
            "CLONE https://github.com/org/lib.git DEFAULT=main /package.json ./",
            "https://github.com/org/lib.git",
            "main",
            ("/package.json",),
            "./",
        ),
    ),
    (
        'AWS link --region="us-east-1"',
        Aws(1, 'AWS link --region="us-east-1"', "link", ("--region=us-east-1",)),
    ),
]


@pytest.mark.parametrize(
    "text, expected", INSTRUCTIONS, ids=[t for t, _ in INSTRUCTIONS]
)
def test_it_parses_each_instruction(text: str, expected: Instruction) -> None:
    assert _one(text) == expected


LAYERFILES = [
    pytest.param(
        "# a comment\n"
        "FROM vm/ubuntu:22.04\n"
        "\n"
        "RUN apt-get update && \\\n"
        "    apt-get install -y curl\n"
        "RUN echo a\\  \t\n"
        "b\n"
        "   # an indented comment, continued \\\n"
        "RUN swallowed by the comment\n"
        "\tCOPY . .\n",
        (
            From(2, "FROM vm/ubuntu:22.04", "vm/ubuntu:22.04"),
            Run(
                4,
                "RUN apt-get update &&     apt-get install -y curl",
                "apt-get update &&     apt-get install -y curl",
                "",
            ),
            Run(6, "RUN echo ab", "echo ab", ""),
            Copy(10, "COPY . .", (".",), "."),
        ),
        id="continuations-and-comments",
    ),
    pytest.param(
        "FROM x\r\nRUN a \\\r\n b\r\n\r\nRUN c\rRUN d",
        (
            From(1, "FROM x", "x"),
            Run(2, "RUN a  b", "a  b", ""),
            Run(5, "RUN c", "c", ""),
            Run(6, "RUN d", "d", ""),
        ),
        id="crlf-and-cr",
    ),
    pytest.param(
        "FROM x\nRUN echo a \\\\\n b",
        (From(1, "FROM x", "x"), Run(2, "RUN echo a \\ b", "echo a \\ b", "")),
        id="doubled-backslash-leaves-one",
    ),
    pytest.param(
        "FROM x\nRUN echo \\",
        (From(1, "FROM x", "x"), Run(2, "RUN echo \\", "echo \\", "")),
        id="backslash-at-the-very-end-stays",
    ),
    pytest.param(
        "FROM x\n  \\\nRUN y\n",
        (From(1, "FROM x", "x"), Run(3, "RUN y", "y", "")),
        id="line-of-the-first-character",
    ),
    pytest.param(
        "\ufeffFROM x\n",
        (From(1, "FROM x", "x"),),
        id="byte-order-mark",
    ),
    pytest.param(
        "FROM vm/ubuntu:18.04\nFROM vm/rails:2.7.1\n",
        (
            From(1, "FROM vm/ubuntu:18.04", "vm/ubuntu:18.04"),
            From(2, "FROM vm/rails:2.7.1", "vm/rails:2.7.1"),
        ),
        id="a-second-from-as-webapp-io-allows",
    ),
]


@pytest.mark.parametrize("text, expected", LAYERFILES)
def test_it_parses_whole_layerfiles(
    text: str, expected: tuple[Instruction, ...]
) -> None:
    layerfile = parse(text, "ci/Layerfile")

    assert layerfile == Layerfile("ci/Layerfile", expected)
    _assert_lines_point_at_instructions(text, layerfile)


INVALID = [
    # What a line is
    ("", 0, "has no instructions"),
    ("# only a comment\n\n", 0, "has no instructions"),
    ("RUN echo hi\n", 1, "the first instruction is RUN, not FROM"),
    ("\n\nCOPY . .\nFROM x", 3, "the first instruction is COPY, not FROM"),
    ("from vm/ubuntu:22.04", 1, "not an instruction: 'from vm/ubuntu:22.04'"),
    ("from vm/ubuntu:22.04", 1, "upper-case: write FROM"),
    ("FROM/Layerfile", 1, "put a space after FROM"),
    ("FROM x\nRUN a\necho b", 3, "not an instruction: 'echo b'"),
    ("FROM x\nRUN a \\\n  && b\nc", 4, "not an instruction: 'c'"),
    ("FROM x\nEXPOSE 3000", 2, "EXPOSE WEBSITE localhost:PORT"),
    ("FROM x\n" + "y" * 60, 2, "not an instruction: '" + "y" * 40 + "'..."),
    ("FROM x\nSPLIT 0\nCMD x", 3, "not an instruction: 'CMD x'"),
    # FROM and links
    ("FROM", 1, "FROM needs a source"),
    ("FROM a AS b", 1, "FROM takes one source"),
    ("FROM ./Layerfile", 1, "FROM ./Layerfile names this Layerfile itself"),
    ("FROM ../../x", 1, "'../../x' points outside the repository"),
    ("FROM x\nWAIT /a", 2, "WAIT /a names this Layerfile itself"),
    ("FROM x\nWAIT ../..", 2, "points outside the repository"),
    ("FROM x\nWAIT", 2, "WAIT needs the Layerfiles to wait for"),
    # Arguments
    ("FROM x\nRUN", 2, "RUN needs a command"),
    ("FROM x\nRUN BACKGROUND  ", 2, "RUN BACKGROUND needs a command"),
    ("FROM x\nCOPY .", 2, "COPY needs at least one source and a destination"),
    ("FROM x\nCOPY --from=build /app .", 2, "COPY takes no options"),
    ("FROM x\nENV", 2, "ENV needs at least one KEY=value"),
    ("FROM x\nENV KEY", 2, "ENV KEY has no value; write KEY=value"),
    ("FROM x\nENV 1A=b", 2, "'1A' is not a KEY"),
    ('FROM x\nENV A="open', 2, "a double quote is never closed"),
    ("FROM x\nENV A=$(date", 2, "'$(' is never closed"),
    ("FROM x\nSECRET ENV A=b", 2, "SECRET ENV takes variable names"),
    ("FROM x\nBUILD ENV", 2, "BUILD ENV needs variable names"),
    ("FROM x\nWORKDIR a b", 2, "WORKDIR takes one folder"),
    ("FROM x\nSETUP FILE", 2, "SETUP FILE needs a file"),
    ("FROM x\nUSER root:root", 2, "USER takes a user name"),
    ("FROM x\nMEMORY 2048", 2, "MEMORY takes a number and a unit"),
    ("FROM x\nMEMORY 2GB", 2, "such as 512M, 2G or 1.5G"),
    ("FROM x\nMEMORY 0G", 2, "MEMORY must be more than zero"),
    ("FROM x\nMEMORY", 2, "MEMORY needs an amount"),
    ("FROM x\nCACHE", 2, "CACHE needs at least one folder"),
    ("FROM x\nCHECKPOINT a b", 2, "CHECKPOINT takes at most one name"),
    ("FROM x\nCHECKPOINT a/b", 2, "a CHECKPOINT name is letters"),
    ("FROM x\nSPLIT 0", 2, "from 1 to 100"),
    ("FROM x\nSPLIT 101", 2, "from 1 to 100, as in 'SPLIT 5', not 101"),
    ("FROM x\nSPLIT five", 2, "not 'five'"),
    ("FROM x\nSPLIT 99999999999", 2, "not '99999999999'"),
    ("FROM x\nSPLIT", 2, "SPLIT needs a whole number"),
    ("FROM x\nSPLIT 2\n\nSPLIT 3", 4, "SPLIT is already set on line 2"),
    ("FROM x\nBUTTON", 2, "BUTTON needs a message"),
    ("FROM x\nEXPOSE WEBSITE", 2, "EXPOSE WEBSITE needs a port"),
    ("FROM x\nEXPOSE WEBSITE example.com", 2, "must be localhost, not 'example.com'"),
    ("FROM x\nEXPOSE WEBSITE https://127:443", 2, "must be localhost, not '127'"),
    ("FROM x\nEXPOSE WEBSITE ftp://localhost", 2, "http or https, not 'ftp'"),
    ("FROM x\nEXPOSE WEBSITE localhost:70000", 2, "from 1 to 65535, not 70000"),
    (
        "FROM x\nEXPOSE WEBSITE https://localhost : 443",
        2,
        "looks like part of the address",
    ),
    ("FROM x\nEXPOSE WEBSITE localhost / /a /b", 2, "at most three words"),
    ("FROM x\nEXPOSE TCP", 2, "EXPOSE TCP takes one or two ports"),
    ("FROM x\nEXPOSE TCP :0", 2, "ports from 1 to 65535"),
    ("FROM x\nSKIP REMAINING IF", 2, "needs a condition, got nothing"),
    ("FROM x\nSKIP REMAINING IF GIT_BRANCH", 2, "got 'GIT_BRANCH'"),
    ("FROM x\nSKIP REMAINING IF A=1 OR B=2", 2, "with AND, not 'OR'"),
    ("FROM x\nSKIP REMAINING IF A=1 AND", 2, "needs a condition, got nothing"),
    ("FROM x\nSKIP REMAINING IF A=", 2, "A= has no value"),
    ("FROM x\nLABEL", 2, "LABEL needs key=value pairs"),
    ("FROM x\nLABEL display_name", 2, "not 'display_name'"),
    ("FROM x\nLABEL display_name=", 2, "LABEL takes key=value pairs"),
    ("FROM x\nLABEL a=1\nLABEL b=2 a=3", 3, "LABEL a is already set on line 2"),
    ("FROM x\nCLONE https://x", 2, "CLONE needs a repository URL and a destination"),
    ("FROM x\nAWS", 2, "AWS needs a command"),
    ("FROM x\nRUN a \\\n  b\nSPLIT nope", 4, "not 'nope'"),
]


@pytest.mark.parametrize(
    "text, line, message", INVALID, ids=[f"{t!r}-{m}" for t, _, m in INVALID]
)
def test_it_names_the_line_and_the_problem(text: str, line: int, message: str) -> None:
    with pytest.raises(LayerfileError) as raised:
        parse(text, "a/Layerfile")

    assert raised.value.path == "a/Layerfile"
    assert raised.value.line == line
    assert message in raised.value.message


def test_it_formats_errors_as_path_line_message() -> None:
    with pytest.raises(LayerfileError) as with_line:
        parse("FROM x\nSPLIT 0", "tests/Layerfile")
    with pytest.raises(LayerfileError) as without_line:
        parse("", "tests/Layerfile")

    assert str(with_line.value) == f"tests/Layerfile:2: {with_line.value.message}"
    assert str(without_line.value) == (f"tests/Layerfile: {without_line.value.message}")
    assert isinstance(with_line.value, ValueError)
    copy = pickle.loads(pickle.dumps(with_line.value))
    assert (copy.path, copy.line, copy.message) == (
        "tests/Layerfile",
        2,
        with_line.value.message,
    )


# The Layerfile's properties


def test_it_reads_what_runners_need_from_a_layerfile() -> None:
    layerfile = parse(
        "FROM ../base\n"
        "LABEL status=merge display_name=e2e\n"
        "SPLIT 3\n"
        "WAIT /unit /lint/Layerfile ../base\n"
        "WAIT /unit\n",
        "tests/e2e/Layerfile",
    )

    assert layerfile.base == From(1, "FROM ../base", "../base")
    assert layerfile.display_name == "e2e"
    assert layerfile.split == 3
    assert layerfile.parent_path == "tests/base/Layerfile"
    assert layerfile.wait_paths == (
        "unit/Layerfile",
        "lint/Layerfile",
        "tests/base/Layerfile",
    )


def test_it_defaults_what_a_plain_layerfile_leaves_out() -> None:
    layerfile = parse("FROM vm/ubuntu:22.04\nRUN true\n", "Layerfile")

    assert layerfile.display_name is None
    assert layerfile.split == 1
    assert layerfile.parent_path is None
    assert layerfile.wait_paths == ()


def test_it_has_no_base_for_a_fragment_without_from() -> None:
    fragment = parse("RUN make\n", "docs/Layerfile", fragment=True)
    empty = parse("", "docs/Layerfile", fragment=True)

    assert empty.instructions == ()
    assert fragment.parent_path is None
    with pytest.raises(LayerfileError, match="does not start with FROM"):
        _ = fragment.base


@pytest.mark.parametrize(
    "source, refers_to_layerfile",
    [
        ("vm/ubuntu:18.04", False),
        ("vm/ubuntu", False),
        ("ubuntu:18.04", False),
        ("webapp.io/node:16", False),
        ("my-org/base:v1.0.0", False),
        ("github/ColinChartier/layer-kubernetes-base/Layerfile@130d951b92c9", False),
        ("/Layerfile", True),
        ("/base", True),
        ("../base", True),
        ("./Layerfile", True),
        ("..", True),
        ("base/Layerfile", True),
        ("Layerfile", True),
    ],
)
def test_it_tells_a_parent_layerfile_from_a_base_image(
    source: str, refers_to_layerfile: bool
) -> None:
    assert From(1, f"FROM {source}", source).refers_to_layerfile is refers_to_layerfile


@pytest.mark.parametrize(
    "path, extra, name",
    [
        ("Layerfile", "", "main-layerfile"),
        ("Cypress/Layerfile", "", "Cypress"),
        ("tests/cypress/Layerfile", "", "tests-cypress"),
        ("a/b/c/Layerfile", "", "b-c"),
        (".layerfiles/base/Layerfile", "", ".layerfiles-base"),
        ("a/b/c/Layerfile", "LABEL display_name=unit", "unit"),
        ("Layerfile", "LABEL status=hidden display_name=root", "root"),
        ("Layerfile", "LABEL status=hidden", "main-layerfile"),
    ],
)
def test_it_names_runners(path: str, extra: str, name: str) -> None:
    layerfile = parse(f"FROM vm/ubuntu:22.04\n{extra}\n", path)

    assert runner_name(layerfile) == name


@pytest.mark.parametrize(
    "from_path, reference, resolved",
    [
        ("tests/Layerfile", "/Layerfile", "Layerfile"),
        ("tests/Layerfile", "/base", "base/Layerfile"),
        ("tests/Layerfile", "../base", "base/Layerfile"),
        ("a/b/Layerfile", "../base/Layerfile", "a/base/Layerfile"),
        ("Layerfile", "x/Layerfile", "x/Layerfile"),
        ("Layerfile", "./Layerfile", "Layerfile"),
        ("a/Layerfile", "./sub/", "a/sub/Layerfile"),
        ("a/Layerfile", "/", "Layerfile"),
        ("a/Layerfile", "..", "Layerfile"),
        ("a/Layerfile", "/.layerfiles//base/.", ".layerfiles/base/Layerfile"),
        ("a/Layerfile", "/x/../y", "y/Layerfile"),
        ("a/Layerfile", "/LAYERFILE", "LAYERFILE/Layerfile"),
    ],
)
def test_it_resolves_layerfile_paths(
    from_path: str, reference: str, resolved: str
) -> None:
    assert resolve_layerfile_path(from_path, reference) == resolved


@pytest.mark.parametrize(
    "from_path, reference, message",
    [
        ("Layerfile", "../x", "'../x' points outside the repository"),
        ("a/Layerfile", "../../x", "points outside the repository"),
        ("a/Layerfile", "/../x", "points outside the repository"),
        ("a/Layerfile", "", "an empty path names no Layerfile"),
    ],
)
def test_it_refuses_paths_outside_the_repository(
    from_path: str, reference: str, message: str
) -> None:
    with pytest.raises(LayerfileError) as raised:
        resolve_layerfile_path(from_path, reference)

    assert (raised.value.path, raised.value.line) == (from_path, 0)
    assert message in raised.value.message


# Discovery


def test_it_discovers_layerfiles_by_exact_name(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    for name in [
        "Layerfile",
        "a/Layerfile",
        "a/b/Layerfile",
        "a/b/c/d/Layerfile",
        "odd/Layerfile/Layerfile",
        "web/layerfile",
        "web/Layerfile2",
        "web/Layerfile.bak",
        ".git/Layerfile",
        ".git/hooks/Layerfile",
        "vendor/lib/.git/Layerfile",
        ".layerfiles/base/Layerfile",
    ]:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("FROM vm/ubuntu:22.04\n")
    (outside / "deep").mkdir(parents=True)
    (outside / "Layerfile").write_text("FROM vm/ubuntu:22.04\n")
    (outside / "deep" / "Layerfile").write_text("FROM vm/ubuntu:22.04\n")
    os.symlink(outside, root / "linked-folder")
    (root / "linked-inside").mkdir()
    os.symlink(root / "a" / "Layerfile", root / "linked-inside" / "Layerfile")
    (root / "linked-outside").mkdir()
    os.symlink(outside / "Layerfile", root / "linked-outside" / "Layerfile")
    (root / "loop").mkdir()
    os.symlink(root / "loop" / "Layerfile", root / "loop" / "Layerfile")

    assert discover(root) == [
        ".layerfiles/base/Layerfile",
        "Layerfile",
        "a/Layerfile",
        "a/b/Layerfile",
        "a/b/c/d/Layerfile",
        "linked-inside/Layerfile",
        "odd/Layerfile/Layerfile",
    ]


def test_it_discovers_nothing_in_an_empty_tree(tmp_path: pathlib.Path) -> None:
    assert discover(tmp_path) == []


# No input makes parse fail in any other way

KEYWORDS = [
    "FROM ",
    "RUN ",
    "RUN BACKGROUND ",
    "RUN REPEATABLE ",
    "COPY ",
    "ENV ",
    "BUILD ENV ",
    "SECRET ENV ",
    "SETUP FILE ",
    "WORKDIR ",
    "USER ",
    "MEMORY ",
    "CACHE ",
    "CHECKPOINT",
    "CHECKPOINT ",
    "SPLIT ",
    "SPLIT UNORDERED ",
    "BUTTON ",
    "WAIT ",
    "EXPOSE WEBSITE ",
    "EXPOSE TCP ",
    "SKIP REMAINING IF ",
    "LABEL ",
    "CLONE ",
    "AWS ",
    "from ",
    "# ",
]
ARGUMENT_PIECES = st.sampled_from(
    [
        " ",
        "\t",
        "\\",
        '"',
        "'",
        "`",
        "$(",
        ")",
        "=",
        "!=",
        "=~",
        "!=~",
        " AND ",
        "#",
        "/",
        "..",
        "Layerfile",
        "vm/ubuntu:22.04",
        "http://",
        "localhost",
        ":",
        "8080",
        "0",
        "1.5",
        "G",
        "UNORDERED",
        "disabled",
        "display_name",
        "DEFAULT=",
        "KEY",
        "--",
    ]
)
ARGUMENTS = st.lists(st.one_of(ARGUMENT_PIECES, st.text(max_size=3)), max_size=8).map(
    "".join
)
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r", "\\\n", " \\ \t\n", "\\\\\n"])
GRAMMAR_TEXT = st.tuples(
    st.sampled_from(["", "FROM vm/ubuntu:22.04\n", "FROM ../base\n"]),
    st.lists(st.tuples(st.sampled_from(KEYWORDS), ARGUMENTS, LINE_ENDS), max_size=12),
).map(lambda drawn: drawn[0] + "".join("".join(line) for line in drawn[1]))


@settings(deadline=None, max_examples=300)
@given(text=st.one_of(st.text(), GRAMMAR_TEXT), fragment=st.booleans())
def test_it_returns_a_layerfile_or_raises_layerfile_error(
    text: str, fragment: bool
) -> None:
    try:
        layerfile = parse(text, "a/b/Layerfile", fragment=fragment)
    except LayerfileError as error:
        assert 0 <= error.line <= len(_physical_lines(text))
        assert str(error).startswith("a/b/Layerfile:")
        assert error.message
        return

    _assert_lines_point_at_instructions(text, layerfile)
    assert runner_name(layerfile)
    assert 1 <= layerfile.split <= 100
    assert all(path.endswith("Layerfile") for path in layerfile.wait_paths)
    if not fragment:
        base = layerfile.base
        if base.refers_to_layerfile:
            expected = resolve_layerfile_path("a/b/Layerfile", base.source)
            assert layerfile.parent_path == expected
        else:
            assert layerfile.parent_path is None
