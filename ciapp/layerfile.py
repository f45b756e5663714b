"""Parsing and discovery of Layerfiles.

A Layerfile is read in three passes, and the first problem found is raised as
one :class:`LayerfileError` naming the file, the line and what is wrong:

1. Lines. A backslash followed by optional blanks (spaces, tabs) and a line
   end is deleted before anything else is read, so the next line joins with
   no space added. A backslash at the very end of the text has no line end
   after it and stays. Leading and trailing blanks are dropped, blank lines
   are skipped, and a line that then starts with ``#`` is a comment. Because
   joining comes first, a comment that ends in a backslash swallows the next
   line, as it does on webapp.io. Every instruction keeps the number of the
   physical line its first character is on.
2. Keywords. Every remaining line must start with an upper-case keyword
   followed by a blank (``RUN npm test``); the keywords are case-sensitive.
   A line that does not is "not an instruction", and that is reported before
   any instruction's arguments are looked at, as webapp.io's lexer does. The
   first instruction must be ``FROM`` unless the text is a fragment.
3. Arguments, instruction by instruction.

Decisions where webapp.io's documentation is silent or loose:

- ``RUN`` (all three forms) and ``BUTTON`` take the rest of the line as it
  stands, ``#`` included: a ``#`` inside a command is the shell's business.
  Every other instruction's arguments are words separated by blanks, and a
  word that starts with ``#`` starts a comment that runs to the line's end
  (``COPY . .  # everything``).
- Words may be quoted with ``"..."`` or ``'...'`` to hold blanks; inside
  double quotes ``\\"`` and ``\\\\`` are escapes. Outside quotes a backslash
  is an ordinary character, so Windows-looking paths and regular expressions
  are kept as written.
- ``ENV`` accepts ``KEY=value`` words and Docker's ``KEY value`` pairs, mixed
  (``ENV a=b c d`` sets ``a`` and ``c``). Values are kept exactly as written,
  quotes, ``$VAR``, backticks and ``$(...)`` included: they are shell words,
  and the executor must expand them the way ``export KEY=value`` does
  (``ENV PATH=$GOPATH/bin:$PATH`` only works that way). A lone backslash
  between pairs is ignored: it is what a line continuation written as
  ``\\\\`` (as in webapp.io's own docs) leaves behind.
- ``MEMORY`` takes a number with a unit, K, M, G or T in either case, binary
  multiples: ``512M``, ``2G``, ``1.5G``. A bare number is refused rather
  than read as bytes.
- ``EXPOSE WEBSITE target [path [rewrite]]``: the target is a port on the
  runner, ``[http[s]://]localhost[:port]`` (``127.0.0.1`` and ``0.0.0.0``
  are accepted too) or a bare port; the port defaults to 80 for http and 443
  for https. ``path`` is the path the website is published under (default
  ``/``); ``rewrite``, when given, is the path the runner's server receives
  instead of ``path``.
- ``SPLIT n`` and ``SPLIT UNORDERED n`` take 1 to 100 copies.
- ``FROM`` names a Layerfile when its source starts with ``/``, ``./`` or
  ``../``, or is a path ending in ``Layerfile``; anything else (``vm/...``,
  ``ubuntu:18.04``, ``webapp.io/node:16``) is a base image. A FROM or WAIT
  path that leaves the repository or names the Layerfile itself is an error.
- ``SPLIT`` appears at most once, and a LABEL key is set once: a second
  one would have to silently win or lose.
- ``CLONE``, ``AWS`` and ``EXPOSE TCP`` are not in the list the service was
  specified with, but webapp.io documents or accepts them and Layerfiles use
  them, so they parse.

NB: webapp.io's own messages count lines after continuations are joined, so
for a line below a continued one its number is smaller than the one given
here, which is the line an editor shows.

NB: webapp.io accepts a FROM after the first one (a real Layerfile in the
test corpus has two), and only the first one decides the base. Later FROMs
parse here too and stay in ``instructions`` so that whoever runs the
Layerfile can say it ignores them.

NB: a ``FROM github/<owner>/<repo>/Layerfile@<commit>`` that inherits from
another repository parses (webapp.io once accepted it) but has no
``parent_path``: following it is left to whoever runs the Layerfile.

NB: the regular expressions of ``SKIP REMAINING IF a =~ b`` are not compiled
here. Real Layerfiles contain expressions that Python's ``re`` refuses (a
character class such as ``[skip-deploy]``), and webapp.io still accepts those
files, so judging them is left to the executor.
"""

from __future__ import annotations

import os
import pathlib
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

LAYERFILE_NAME = "Layerfile"
MAX_SPLIT = 100

# How many characters of a line an error message quotes.
_QUOTED_LINE_LENGTH = 40

_LINE_END = re.compile(r"\r\n|\r|\n")
_CONTINUATION = re.compile(r"\\[ \t]*$")
_BLANKS = " \t"

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_USER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_CHECKPOINT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_LABEL_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_SPLIT_COUNT = re.compile(r"[0-9]{1,6}")
_MEMORY_AMOUNT = re.compile(r"([0-9]{1,9})(?:\.([0-9]{1,9}))?([KMGT])", re.IGNORECASE)
_MEMORY_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_WEBSITE_TARGET = re.compile(
    r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?"
    r"(?::?(?P<bare>[0-9]{1,5})|(?P<host>[^:/]+)(?::(?P<port>[0-9]{1,5}))?)/?"
)
_WEBSITE_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0")
_TCP_PORT = re.compile(r":?([0-9]{1,5})")
_CONDITION = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t]*(!=~|=~|!=|=)[ \t]*")

_EXAMPLE_FROM = "'FROM vm/ubuntu:22.04'"


class LayerfileError(ValueError):
    """A Layerfile that cannot be used, with where and why.

    ``line`` is the 1-based physical line the bad instruction starts on, or 0
    when the problem belongs to the whole file.
    """

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(path, line, message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}: {self.message}"


class _Invalid(Exception):
    """An instruction's arguments are wrong; ``parse`` adds path and line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Instructions


@dataclass(frozen=True)
class Instruction:
    """One instruction: where it starts and its text after joining lines."""

    line: int
    text: str


@dataclass(frozen=True)
class From(Instruction):
    """``FROM source``: a base image or the path of a parent Layerfile."""

    source: str

    @property
    def refers_to_layerfile(self) -> bool:
        """Whether the source is a Layerfile of this repository."""
        source = self.source
        if source in (".", "..") or source.startswith(("/", "./", "../")):
            return True
        if "@" in source or ":" in source:
            return False
        return posixpath.basename(source) == LAYERFILE_NAME


@dataclass(frozen=True)
class Run(Instruction):
    """``RUN``, ``RUN BACKGROUND`` or ``RUN REPEATABLE`` with its command."""

    command: str
    mode: str

    PLAIN = ""
    BACKGROUND = "BACKGROUND"
    REPEATABLE = "REPEATABLE"


@dataclass(frozen=True)
class Copy(Instruction):
    """``COPY sources... destination``."""

    sources: tuple[str, ...]
    destination: str


@dataclass(frozen=True)
class Env(Instruction):
    """``ENV``: (name, value) pairs, each value a shell word as written."""

    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class BuildEnv(Instruction):
    """``BUILD ENV names...``: variables whose change forces a rebuild."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class SecretEnv(Instruction):
    """``SECRET ENV names...``: the repository secrets to expose."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class SetupFile(Instruction):
    """``SETUP FILE path``: a file sourced before every RUN."""

    path: str


@dataclass(frozen=True)
class Workdir(Instruction):
    """``WORKDIR path``."""

    path: str


@dataclass(frozen=True)
class User(Instruction):
    """``USER name``."""

    name: str


@dataclass(frozen=True)
class Memory(Instruction):
    """``MEMORY amount``; ``amount`` as written (``2G``), size in bytes."""

    size_bytes: int
    amount: str


@dataclass(frozen=True)
class Cache(Instruction):
    """``CACHE paths...``: folders kept between runs."""

    paths: tuple[str, ...]


@dataclass(frozen=True)
class Checkpoint(Instruction):
    """``CHECKPOINT``, ``CHECKPOINT name`` or ``CHECKPOINT disabled``."""

    name: str | None
    disabled: bool


@dataclass(frozen=True)
class Split(Instruction):
    """``SPLIT n`` or ``SPLIT UNORDERED n``."""

    count: int
    unordered: bool = False


@dataclass(frozen=True)
class Button(Instruction):
    """``BUTTON message``: hold the runner until someone presses it."""

    message: str


@dataclass(frozen=True)
class Wait(Instruction):
    """``WAIT paths...``: Layerfiles that must succeed first, as written."""

    paths: tuple[str, ...]


@dataclass(frozen=True)
class ExposeWebsite(Instruction):
    """``EXPOSE WEBSITE target [path [rewrite]]``.

    ``target`` is kept as written; ``scheme`` and ``port`` are what it means.
    ``rewrite`` is None when requests keep their path.
    """

    target: str
    path: str
    rewrite: str | None
    scheme: str
    port: int


@dataclass(frozen=True)
class ExposeTcp(Instruction):
    """``EXPOSE TCP port [port]``, the ports as numbers."""

    ports: tuple[int, ...]


@dataclass(frozen=True)
class Condition:
    """``key op value`` in SKIP REMAINING IF; the value is unquoted."""

    key: str
    op: str
    value: str

    EQUAL = "="
    NOT_EQUAL = "!="
    MATCHES = "=~"
    NOT_MATCHES = "!=~"


@dataclass(frozen=True)
class SkipRemainingIf(Instruction):
    """``SKIP REMAINING IF condition [AND condition...]``."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Label(Instruction):
    """``LABEL key=value...``."""

    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Clone(Instruction):
    """``CLONE url [DEFAULT=branch] [sources...] destination``."""

    url: str
    default_branch: str | None
    sources: tuple[str, ...]
    destination: str


@dataclass(frozen=True)
class Aws(Instruction):
    """``AWS command [arguments...]``, e.g. ``AWS link --region=us-east-1``."""

    command: str
    arguments: tuple[str, ...]


# The Layerfile


@dataclass(frozen=True)
class Layerfile:
    """A parsed Layerfile and its path relative to the repository root."""

    path: str
    instructions: tuple[Instruction, ...]

    @property
    def base(self) -> From:
        """The FROM instruction the Layerfile starts with.

        Only a fragment can lack one; asking a fragment raises LayerfileError.
        """
        if self.instructions and isinstance(self.instructions[0], From):
            return self.instructions[0]
        raise LayerfileError(self.path, 0, "the Layerfile does not start with FROM")

    @property
    def display_name(self) -> str | None:
        """``LABEL display_name=...``, the name its runners are shown by."""
        for instruction in self.instructions:
            if isinstance(instruction, Label):
                for key, value in instruction.values:
                    if key == "display_name":
                        return value
        return None

    @property
    def split(self) -> int:
        """How many copies SPLIT makes of the runner; 1 without SPLIT."""
        for instruction in self.instructions:
            if isinstance(instruction, Split):
                return instruction.count
        return 1

    @property
    def parent_path(self) -> str | None:
        """The repository-relative path of the Layerfile FROM names, if any."""
        if not self.instructions or not isinstance(self.instructions[0], From):
            return None
        base = self.instructions[0]
        if not base.refers_to_layerfile:
            return None
        return resolve_layerfile_path(self.path, base.source)

    @property
    def wait_paths(self) -> tuple[str, ...]:
        """The Layerfiles WAIT names, resolved, in order, each once."""
        paths: list[str] = []
        for instruction in self.instructions:
            if isinstance(instruction, Wait):
                for reference in instruction.paths:
                    path = resolve_layerfile_path(self.path, reference)
                    if path not in paths:
                        paths.append(path)
        return tuple(paths)


# Reading lines


@dataclass(frozen=True)
class _Line:
    number: int
    text: str


def _logical_lines(text: str) -> list[_Line]:
    """Join continued lines; drop blank lines and comments."""
    if text.startswith("\ufeff"):
        text = text[1:]
    physical = _LINE_END.split(text)

    lines: list[_Line] = []
    pieces: list[str] = []
    start = 0
    for number, content in enumerate(physical, start=1):
        continued = number < len(physical)
        match = _CONTINUATION.search(content) if continued else None
        piece = content[: match.start()] if match else content
        if not start and piece.strip(_BLANKS):
            start = number
        pieces.append(piece)
        if match:
            continue

        joined = "".join(pieces).strip(_BLANKS)
        if joined.strip() and not joined.startswith("#"):
            lines.append(_Line(start, joined))
        pieces = []
        start = 0

    return lines


# Keywords, longest first so that "RUN BACKGROUND" wins over "RUN".
_KEYWORDS = tuple(
    sorted(
        (
            "AWS",
            "BUILD ENV",
            "BUTTON",
            "CACHE",
            "CHECKPOINT",
            "CLONE",
            "COPY",
            "ENV",
            "EXPOSE TCP",
            "EXPOSE WEBSITE",
            "FROM",
            "LABEL",
            "MEMORY",
            "RUN",
            "RUN BACKGROUND",
            "RUN REPEATABLE",
            "SECRET ENV",
            "SETUP FILE",
            "SKIP REMAINING IF",
            "SPLIT",
            "USER",
            "WAIT",
            "WORKDIR",
        ),
        key=len,
        reverse=True,
    )
)

_DOCKERFILE_HINTS = {
    "ADD": "Layerfiles copy files with COPY",
    "ARG": "Layerfiles set variables with ENV or BUILD ENV",
    "CMD": "Layerfiles start long-running processes with RUN BACKGROUND",
    "ENTRYPOINT": "Layerfiles start long-running processes with RUN BACKGROUND",
    "EXPOSE": "Layerfiles publish a port with EXPOSE WEBSITE localhost:PORT",
}


def _split_keyword(text: str) -> tuple[str, str] | None:
    """The keyword a line starts with and the arguments after it."""
    for keyword in _KEYWORDS:
        if text == keyword:
            return keyword, ""
        if text.startswith(keyword) and text[len(keyword)] in _BLANKS:
            return keyword, text[len(keyword) :].strip(_BLANKS)
    return None


def _not_an_instruction(text: str) -> str:
    quoted = repr(text[:_QUOTED_LINE_LENGTH])
    if len(text) > _QUOTED_LINE_LENGTH:
        quoted += "..."

    first_word = text.split(maxsplit=1)[0]
    upper = _split_keyword(text.upper())
    glued = [
        keyword
        for keyword in _KEYWORDS
        if text.startswith(keyword)
        and not text[len(keyword)].isalnum()
        and text[len(keyword)] not in _BLANKS
    ]
    if upper is not None:
        hint = f"keywords are upper-case: write {upper[0]}"
    elif glued:
        hint = f"put a space after {glued[0]}"
    elif first_word in _DOCKERFILE_HINTS:
        hint = f"{first_word} is a Dockerfile instruction; "
        hint += _DOCKERFILE_HINTS[first_word]
    else:
        hint = (
            "a line must start with an instruction such as FROM, RUN or COPY; "
            "to continue the line above, end that line with a backslash"
        )
    return f"not an instruction: {quoted}; {hint}"


# Reading words


@dataclass(frozen=True)
class _Word:
    raw: str  # as written, quotes included
    plain: str  # with its quotes removed


def _read_word(text: str, position: int) -> tuple[_Word, int]:
    """The word starting at ``position`` and the index just after it.

    Quotes hold blanks; backticks and ``$(...)`` do too and are kept as they
    are, since only a shell can make sense of them.
    """
    plain = []
    index = position
    while index < len(text) and text[index] not in _BLANKS:
        char = text[index]
        if char in "\"'`":
            close = _closing_quote(text, index)
            inside = text[index + 1 : close]
            if char == '"':
                plain.append(re.sub(r'\\(["\\])', r"\1", inside))
            elif char == "'":
                plain.append(inside)
            else:
                plain.append(text[index : close + 1])
            index = close + 1
        elif text.startswith("$(", index):
            close = _closing_parenthesis(text, index)
            plain.append(text[index : close + 1])
            index = close + 1
        else:
            plain.append(char)
            index += 1
    return _Word(text[position:index], "".join(plain)), index


def _closing_quote(text: str, start: int) -> int:
    quote = text[start]
    index = start + 1
    while index < len(text):
        if text[index] == "\\" and quote == '"':
            index += 2
        elif text[index] == quote:
            return index
        else:
            index += 1
    name = {'"': "double quote", "'": "single quote", "`": "backtick"}[quote]
    raise _Invalid(f"a {name} is never closed in {text[start:]!r}")


def _closing_parenthesis(text: str, start: int) -> int:
    depth = 0
    for index in range(start + 1, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise _Invalid(f"'$(' is never closed in {text[start:]!r}")


def _skip_blanks(text: str, position: int) -> int:
    while position < len(text) and text[position] in _BLANKS:
        position += 1
    return position


def _words(arguments: str) -> list[_Word]:
    """Blank-separated words, up to a word that starts with ``#``."""
    words = []
    position = _skip_blanks(arguments, 0)
    while position < len(arguments) and arguments[position] != "#":
        word, position = _read_word(arguments, position)
        words.append(word)
        position = _skip_blanks(arguments, position)
    return words


def _plain_words(arguments: str) -> list[str]:
    return [word.plain for word in _words(arguments)]


def _one_word(keyword: str, arguments: str, noun: str, example: str) -> str:
    words = _plain_words(arguments)
    if not words:
        article = "an" if noun[0] in "aeiou" else "a"
        raise _Invalid(f"{keyword} needs {article} {noun}, as in '{keyword} {example}'")
    if len(words) > 1:
        message = f"{keyword} takes one {noun}, not {len(words)} words ({arguments!r})"
        if noun in ("file", "folder"):
            message += f"; quote a {noun} whose name contains blanks"
        raise _Invalid(message)
    return words[0]


def _names(keyword: str, arguments: str, example: str) -> tuple[str, ...]:
    names = _plain_words(arguments)
    if not names:
        raise _Invalid(f"{keyword} needs variable names, as in '{keyword} {example}'")
    for name in names:
        if not _VARIABLE_NAME.fullmatch(name):
            raise _Invalid(
                f"{keyword} takes variable names (letters, digits and "
                f"underscores, not starting with a digit), not {name!r}"
            )
    return tuple(names)


# One function per keyword, from its line, text and arguments to an
# instruction.

_InstructionParser = Callable[[int, str, str], Instruction]


def _from(line: int, text: str, arguments: str) -> From:
    words = _plain_words(arguments)
    expected = (
        "a base such as vm/ubuntu:22.04, or the path of a parent Layerfile "
        "such as /base/Layerfile"
    )
    if not words:
        raise _Invalid(f"FROM needs a source: {expected}")
    if len(words) > 1:
        raise _Invalid(f"FROM takes one source, {expected}; not {arguments!r}")
    return From(line, text, words[0])


def _run(mode: str) -> _InstructionParser:
    def parse(line: int, text: str, arguments: str) -> Run:
        keyword = f"RUN {mode}".strip()
        if not arguments:
            raise _Invalid(
                f"{keyword} needs a command to run, as in '{keyword} npm test'"
            )
        return Run(line, text, arguments, mode)

    return parse


def _copy(line: int, text: str, arguments: str) -> Copy:
    words = _plain_words(arguments)
    for word in words:
        if word.startswith("--"):
            raise _Invalid(
                f"COPY takes no options such as {word!r}; "
                f"write 'COPY sources... destination'"
            )
    if len(words) < 2:
        raise _Invalid(
            "COPY needs at least one source and a destination, as in 'COPY . .'"
        )
    return Copy(line, text, tuple(words[:-1]), words[-1])


def _env(line: int, text: str, arguments: str) -> Env:
    values: list[tuple[str, str]] = []
    pending: str | None = None
    for word in _words(arguments):
        if pending is not None:
            values.append((pending, word.raw))
            pending = None
        elif word.raw == "\\":
            continue
        elif "=" in word.raw:
            name, value = word.raw.split("=", 1)
            _check_env_name(name)
            values.append((name, value))
        else:
            _check_env_name(word.raw)
            pending = word.raw
    if pending is not None:
        raise _Invalid(f"ENV {pending} has no value; write {pending}=value")
    if not values:
        raise _Invalid("ENV needs at least one KEY=value, as in 'ENV CI=true'")
    return Env(line, text, tuple(values))


def _check_env_name(name: str) -> None:
    if not _VARIABLE_NAME.fullmatch(name):
        raise _Invalid(
            f"ENV takes KEY=value, where KEY is letters, digits and "
            f"underscores not starting with a digit; {name!r} is not a KEY"
        )


def _build_env(line: int, text: str, arguments: str) -> BuildEnv:
    return BuildEnv(line, text, _names("BUILD ENV", arguments, "GIT_BRANCH"))


def _secret_env(line: int, text: str, arguments: str) -> SecretEnv:
    return SecretEnv(line, text, _names("SECRET ENV", arguments, "API_TOKEN"))


def _setup_file(line: int, text: str, arguments: str) -> SetupFile:
    path = _one_word("SETUP FILE", arguments, "file", "setup.sh")
    return SetupFile(line, text, path)


def _workdir(line: int, text: str, arguments: str) -> Workdir:
    return Workdir(line, text, _one_word("WORKDIR", arguments, "folder", "/app"))


def _user(line: int, text: str, arguments: str) -> User:
    name = _one_word("USER", arguments, "user name", "ubuntu")
    if not _USER_NAME.fullmatch(name):
        raise _Invalid(
            f"USER takes a user name of letters, digits, '.', '_' and '-', not {name!r}"
        )
    return User(line, text, name)


def _memory(line: int, text: str, arguments: str) -> Memory:
    amount = _one_word("MEMORY", arguments, "amount", "2G")
    match = _MEMORY_AMOUNT.fullmatch(amount)
    if not match:
        raise _Invalid(
            f"MEMORY takes a number and a unit (K, M, G or T), such as 512M, "
            f"2G or 1.5G, not {amount!r}"
        )
    whole, fraction, unit = match.groups()
    number = Fraction(f"{whole}.{fraction or 0}")
    size = int(number * _MEMORY_UNITS[unit.upper()])
    if size <= 0:
        raise _Invalid(f"MEMORY must be more than zero, not {amount!r}")
    return Memory(line, text, size, amount)


def _cache(line: int, text: str, arguments: str) -> Cache:
    paths = _plain_words(arguments)
    if not paths:
        raise _Invalid("CACHE needs at least one folder, as in 'CACHE ~/.npm'")
    return Cache(line, text, tuple(paths))


def _checkpoint(line: int, text: str, arguments: str) -> Checkpoint:
    words = _plain_words(arguments)
    if not words:
        return Checkpoint(line, text, None, False)
    if len(words) > 1:
        raise _Invalid(
            f"CHECKPOINT takes at most one name, or 'disabled', not {arguments!r}"
        )
    if words[0] == "disabled":
        return Checkpoint(line, text, None, True)
    if not _CHECKPOINT_NAME.fullmatch(words[0]):
        raise _Invalid(
            f"a CHECKPOINT name is letters, digits, '.', '_' and '-', not {words[0]!r}"
        )
    return Checkpoint(line, text, words[0], False)


def _split(line: int, text: str, arguments: str) -> Split:
    words = _plain_words(arguments)
    unordered = bool(words) and words[0] == "UNORDERED"
    if unordered:
        words = words[1:]
    expected = f"a whole number of copies from 1 to {MAX_SPLIT}, as in 'SPLIT 5'"
    if len(words) != 1:
        raise _Invalid(f"SPLIT needs {expected}; got {arguments!r}")
    if not _SPLIT_COUNT.fullmatch(words[0]):
        raise _Invalid(f"SPLIT needs {expected}, not {words[0]!r}")
    count = int(words[0])
    if not 1 <= count <= MAX_SPLIT:
        raise _Invalid(f"SPLIT needs {expected}, not {count}")
    return Split(line, text, count, unordered)


def _button(line: int, text: str, arguments: str) -> Button:
    if not arguments:
        raise _Invalid("BUTTON needs a message, as in 'BUTTON Deploy to staging?'")
    return Button(line, text, arguments)


def _wait(line: int, text: str, arguments: str) -> Wait:
    paths = _plain_words(arguments)
    if not paths:
        raise _Invalid(
            "WAIT needs the Layerfiles to wait for, as in 'WAIT /tests/Layerfile'"
        )
    return Wait(line, text, tuple(paths))


def _expose_website(line: int, text: str, arguments: str) -> ExposeWebsite:
    words = _plain_words(arguments)
    usage = (
        "write 'EXPOSE WEBSITE localhost:PORT [path [rewrite]]', as in "
        "'EXPOSE WEBSITE http://localhost:3000 /api'"
    )
    if not words:
        raise _Invalid(f"EXPOSE WEBSITE needs a port to expose; {usage}")
    if len(words) > 3:
        raise _Invalid(f"EXPOSE WEBSITE takes at most three words; {usage}")

    target = words[0]
    match = _WEBSITE_TARGET.fullmatch(target)
    if not match:
        raise _Invalid(f"EXPOSE WEBSITE cannot expose {target!r}; {usage}")
    scheme = (match["scheme"] or "http").lower()
    if scheme not in ("http", "https"):
        raise _Invalid(
            f"EXPOSE WEBSITE serves http or https, not {match['scheme']!r}; {usage}"
        )
    if match["host"] is not None and match["host"] not in _WEBSITE_HOSTS:
        raise _Invalid(
            f"EXPOSE WEBSITE exposes a port on the runner itself, so the host "
            f"must be localhost, not {match['host']!r}; {usage}"
        )
    written_port = match["port"] or match["bare"]
    port = int(written_port) if written_port else (443 if scheme == "https" else 80)
    if not 1 <= port <= 65535:
        raise _Invalid(f"EXPOSE WEBSITE needs a port from 1 to 65535, not {port}")

    for word in words[1:]:
        if word.startswith(":"):
            raise _Invalid(
                f"EXPOSE WEBSITE's path {word!r} looks like part of the address; "
                f"write the address with no blanks, as in localhost:8080"
            )
    path = _url_path(words[1]) if len(words) > 1 else "/"
    rewrite = _url_path(words[2]) if len(words) > 2 else None
    return ExposeWebsite(line, text, target, path, rewrite, scheme, port)


def _url_path(word: str) -> str:
    return word if word.startswith("/") else "/" + word


def _expose_tcp(line: int, text: str, arguments: str) -> ExposeTcp:
    words = _plain_words(arguments)
    if not 1 <= len(words) <= 2:
        raise _Invalid(
            "EXPOSE TCP takes one or two ports, as in 'EXPOSE TCP :5432'; "
            f"got {arguments!r}"
        )
    ports = []
    for word in words:
        match = _TCP_PORT.fullmatch(word)
        if not match or not 1 <= int(match[1]) <= 65535:
            raise _Invalid(
                f"EXPOSE TCP takes ports from 1 to 65535 such as :5432, not {word!r}"
            )
        ports.append(int(match[1]))
    return ExposeTcp(line, text, tuple(ports))


def _skip_remaining_if(line: int, text: str, arguments: str) -> SkipRemainingIf:
    usage = (
        "write conditions such as 'GIT_BRANCH!=main' or "
        "'GIT_COMMIT_TITLE =~ \"\\[skip\\]\"', joined by AND"
    )
    conditions = []
    position = _skip_blanks(arguments, 0)
    while True:
        match = _CONDITION.match(arguments, position)
        if not match:
            rest = arguments[position:]
            got = f"got {rest!r}" if rest else "got nothing"
            raise _Invalid(f"SKIP REMAINING IF needs a condition, {got}; {usage}")
        value, position = _read_word(arguments, match.end())
        key, op = match.groups()
        if not value.raw:
            raise _Invalid(
                f'the condition {key}{op} has no value; compare with "" to '
                f"test for an empty value"
            )
        conditions.append(Condition(key, op, value.plain))

        position = _skip_blanks(arguments, position)
        if position == len(arguments) or arguments[position] == "#":
            break
        joiner, position = _read_word(arguments, position)
        if joiner.raw != "AND":
            raise _Invalid(
                f"SKIP REMAINING IF joins conditions with AND, not {joiner.raw!r}; "
                f"{usage}"
            )
        position = _skip_blanks(arguments, position)
    return SkipRemainingIf(line, text, tuple(conditions))


def _label(line: int, text: str, arguments: str) -> Label:
    values: list[tuple[str, str]] = []
    for word in _words(arguments):
        key, equals, value = word.plain.partition("=")
        if not equals or not _LABEL_KEY.fullmatch(key) or not value:
            raise _Invalid(
                f"LABEL takes key=value pairs such as display_name=tests, "
                f"not {word.raw!r}"
            )
        values.append((key, value))
    if not values:
        raise _Invalid("LABEL needs key=value pairs, as in 'LABEL display_name=tests'")
    return Label(line, text, tuple(values))


def _clone(line: int, text: str, arguments: str) -> Clone:
    default_branch = None
    words = []
    for word in _plain_words(arguments):
        if word.startswith("DEFAULT="):
            default_branch = word.removeprefix("DEFAULT=")
        else:
            words.append(word)
    if len(words) < 2 or default_branch == "":
        raise _Invalid(
            "CLONE needs a repository URL and a destination, as in "
            "'CLONE https://github.com/org/lib.git DEFAULT=main /lib'"
        )
    return Clone(line, text, words[0], default_branch, tuple(words[1:-1]), words[-1])


def _aws(line: int, text: str, arguments: str) -> Aws:
    words = _plain_words(arguments)
    if not words:
        raise _Invalid("AWS needs a command, as in 'AWS link --region=us-east-1'")
    return Aws(line, text, words[0], tuple(words[1:]))


_PARSERS: dict[str, _InstructionParser] = {
    "AWS": _aws,
    "BUILD ENV": _build_env,
    "BUTTON": _button,
    "CACHE": _cache,
    "CHECKPOINT": _checkpoint,
    "CLONE": _clone,
    "COPY": _copy,
    "ENV": _env,
    "EXPOSE TCP": _expose_tcp,
    "EXPOSE WEBSITE": _expose_website,
    "FROM": _from,
    "LABEL": _label,
    "MEMORY": _memory,
    "RUN": _run(Run.PLAIN),
    "RUN BACKGROUND": _run(Run.BACKGROUND),
    "RUN REPEATABLE": _run(Run.REPEATABLE),
    "SECRET ENV": _secret_env,
    "SETUP FILE": _setup_file,
    "SKIP REMAINING IF": _skip_remaining_if,
    "SPLIT": _split,
    "USER": _user,
    "WAIT": _wait,
    "WORKDIR": _workdir,
}


# Parsing


def parse(
    text: str, path: str = LAYERFILE_NAME, *, fragment: bool = False
) -> Layerfile:
    """Parse a Layerfile's text; ``path`` is its place in the repository.

    With ``fragment`` the text need not start with FROM, for snippets such as
    those in documentation. Raises :class:`LayerfileError`, and nothing else.
    """
    keyed: list[tuple[_Line, str, str]] = []
    for line in _logical_lines(text):
        split = _split_keyword(line.text)
        if split is None:
            raise LayerfileError(path, line.number, _not_an_instruction(line.text))
        keyword, arguments = split
        keyed.append((line, keyword, arguments))

    if not fragment:
        if not keyed:
            raise LayerfileError(
                path,
                0,
                f"the Layerfile has no instructions; it must start with FROM, "
                f"as in {_EXAMPLE_FROM}",
            )
        first_line, first_keyword, _ = keyed[0]
        if first_keyword != "FROM":
            raise LayerfileError(
                path,
                first_line.number,
                f"the first instruction is {first_keyword}, not FROM; a Layerfile "
                f"must start with FROM, as in {_EXAMPLE_FROM}",
            )

    instructions: list[Instruction] = []
    checks = _Checks(path)
    for line, keyword, arguments in keyed:
        try:
            instruction = _PARSERS[keyword](line.number, line.text, arguments)
            checks.check(instruction)
        except _Invalid as error:
            raise LayerfileError(path, line.number, error.message) from None
        instructions.append(instruction)

    return Layerfile(path, tuple(instructions))


class _Checks:
    """What no single instruction can judge alone."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.seen: dict[str, int] = {}

    def check(self, instruction: Instruction) -> None:
        if isinstance(instruction, From):
            if instruction.refers_to_layerfile:
                self._reference("FROM", instruction.source)
        elif isinstance(instruction, Wait):
            for reference in instruction.paths:
                self._reference("WAIT", reference)
        elif isinstance(instruction, Split):
            self._once("SPLIT", instruction.line)
        elif isinstance(instruction, Label):
            for key, _ in instruction.values:
                self._once(f"LABEL {key}", instruction.line)

    def _reference(self, keyword: str, reference: str) -> None:
        if _resolve(self.path, reference) == posixpath.normpath(self.path):
            raise _Invalid(f"{keyword} {reference} names this Layerfile itself")

    def _once(self, what: str, line: int) -> None:
        if what in self.seen:
            raise _Invalid(
                f"{what} is already set on line {self.seen[what]}; "
                f"a Layerfile sets it once"
            )
        self.seen[what] = line


# Paths


def resolve_layerfile_path(from_path: str, reference: str) -> str:
    """The repository-relative path of the Layerfile a FROM or WAIT names.

    ``from_path`` is the referring Layerfile's path. ``/x`` starts at the
    repository root, anything else at the referring Layerfile's folder, and a
    reference that does not end in ``Layerfile`` names a folder's Layerfile.
    """
    try:
        return _resolve(from_path, reference)
    except _Invalid as error:
        raise LayerfileError(from_path, 0, error.message) from None


def _resolve(from_path: str, reference: str) -> str:
    if not reference:
        raise _Invalid("an empty path names no Layerfile")
    if reference.startswith("/"):
        combined = reference
    else:
        combined = posixpath.dirname(from_path) + "/" + reference

    parts: list[str] = []
    for part in combined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise _Invalid(
                    f"{reference!r} points outside the repository; paths start "
                    f"at the referring Layerfile's folder, or at the "
                    f"repository root when they start with /"
                )
            parts.pop()
        else:
            parts.append(part)
    if not parts or parts[-1] != LAYERFILE_NAME:
        parts.append(LAYERFILE_NAME)
    return "/".join(parts)


def discover(root: pathlib.Path) -> list[str]:
    """The POSIX paths, relative to ``root``, of every file named Layerfile.

    ``.git`` folders are skipped and symlinked folders are not entered; a
    symlinked Layerfile counts only if it points at a file inside ``root``.
    """
    root = pathlib.Path(root)
    real_root = root.resolve()
    found = []
    for folder, folders, files in os.walk(root):
        folders[:] = [name for name in folders if name != ".git"]
        if LAYERFILE_NAME not in files:
            continue
        candidate = pathlib.Path(folder, LAYERFILE_NAME)
        if candidate.is_symlink() and not _inside(candidate, real_root):
            continue
        if candidate.is_file():
            found.append(candidate.relative_to(root).as_posix())
    return sorted(found)


def _inside(link: pathlib.Path, real_root: pathlib.Path) -> bool:
    try:
        return link.resolve().is_relative_to(real_root)
    except (OSError, RuntimeError):  # a loop of links
        return False


def runner_name(layerfile: Layerfile) -> str:
    """The name of a Layerfile's runners, before any ``-<index>``.

    LABEL display_name if set; else the last one or two folders of its path
    joined by a dash; else, at the repository root, ``main-layerfile``.
    """
    if layerfile.display_name:
        return layerfile.display_name
    folders = [part for part in posixpath.dirname(layerfile.path).split("/") if part]
    if not folders:
        return "main-layerfile"
    return "-".join(folders[-2:])
