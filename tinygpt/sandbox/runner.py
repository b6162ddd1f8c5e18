"""The program that runs inside each sandbox (`tinygpt.sandbox` starts it twice per run, from this file's text).

    python -I -c RUNNER tinygpt-sandbox:candidate CALLS ANSWERS CODE MEMORY CPU FILE_BYTES OPEN_FILES
    python -I -c RUNNER tinygpt-sandbox:judge     CALLS ANSWERS TESTS MEMORY CPU FILE_BYTES OPEN_FILES VERDICT

(CALLS, ANSWERS, CODE, TESTS and VERDICT are descriptor numbers.)
The candidate runs the model's code, then serves calls of its top-level functions; the judge runs the tests, in which
each of those functions is a proxy: a call is sent over one pipe and its answer read back from another. Every
message is one line holding a Python literal, read with `ast.literal_eval`, which builds only plain values (numbers,
strings, bytes, None, and lists, tuples, dicts and sets of them): whatever the candidate sends, the judge holds
values of the built-in types, with the built-in `==`. Messages, candidate to judge:

    ("ready", {name: ("function",) | ("value", literal) | ("module", name) | ("other", type name)})
    ("returned", literal)                      the answer to one call
    ("raised", exception type name, reason)    the code raised while it ran, or during a call

and judge to candidate: ("call", name, args, kwargs). The judge writes one line on its verdict descriptor, which only
it and the parent hold: ("passed" | "failed" | "error", reason), or ("ended", "") when the candidate's process went
away (the parent, which knows how it ended, words the reason).

Only this file's standard-library imports run before the limits are set; nothing of tinygpt is imported here.
"""

import ast
import builtins
import importlib
import linecache
import math
import os
import resource
import sys
import traceback

MAX_MESSAGE_BYTES = 4 << 20  # a longer answer is an error, not a pass
HEX_INT_BITS = 2000  # ints longer than this cross in hex: decimal is capped (sys.set_int_max_str_digits) and slow
CONTROL_FLOW = (StopIteration, StopAsyncIteration)  # a test's `map` or `async for` would end on these, not fail
CODE_FILE, TESTS_FILE = "candidate.py", "tests.py"  # the names tracebacks show


def set_limits(memory_bytes: int, cpu_seconds: int, file_bytes: int, open_files: int) -> None:
    """Lower this process's resource limits (a limit can only be lowered: stay under an existing hard limit). Not
    RLIMIT_NPROC: the kernel ignores it for root and counts threads in it for everyone else; the sandbox's seccomp
    filter refuses new processes instead, and threads run."""
    for limit, soft, hard in ((resource.RLIMIT_AS, memory_bytes, memory_bytes),
                              (resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1),
                              (resource.RLIMIT_FSIZE, file_bytes, file_bytes),
                              (resource.RLIMIT_NOFILE, open_files, open_files), (resource.RLIMIT_CORE, 0, 0)):
        ceiling = resource.getrlimit(limit)[1]
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        resource.setrlimit(limit, (soft, hard))


def literal(value) -> str:
    """`value` as the text of a literal that `ast.literal_eval` reads back equal. Only the exact built-in types
    qualify (a subclass of int could rig `==`); infinities are written 1e999, a long int in hex, a complex number as
    its parts, `(1.0 + 1e999j)`; NaN has no literal."""
    kind = type(value)
    if kind is float and math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    if kind is float and math.isnan(value):
        raise TypeError("NaN, which has no literal")
    if kind is int and value.bit_length() > HEX_INT_BITS:
        return hex(value)
    if kind is complex:
        sign = "-" if math.copysign(1.0, value.imag) < 0 else "+"
        return f"({literal(value.real)} {sign} {literal(abs(value.imag))}j)"
    if kind in (type(None), bool, int, float, str, bytes):
        return repr(value)
    if kind is list:
        return "[" + ", ".join(map(literal, value)) + "]"
    if kind is tuple:
        return "(" + "".join(literal(item) + ", " for item in value) + ")"
    if kind is set:
        return "{" + ", ".join(map(literal, value)) + "}" if value else "set()"
    if kind is dict:
        return "{" + ", ".join(f"{literal(key)}: {literal(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"a {kind.__name__}, which is not a plain value")


def send(stream, *fields) -> None:
    stream.write((literal(fields) + "\n").encode("utf-8"))
    stream.flush()


def receive(stream):
    """The next message, or None when the other side has gone."""
    line = stream.readline(MAX_MESSAGE_BYTES + 1)
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise ValueError(f"a message longer than {MAX_MESSAGE_BYTES} bytes")
    return ast.literal_eval(line.decode("utf-8"))


def load_source(fd: int, filename: str) -> str:
    """Read the code from its descriptor, close it, and let tracebacks quote its lines."""
    with os.fdopen(fd, "rb") as file:
        source = file.read().decode("utf-8", errors="replace")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return source


def reason_of(error: BaseException) -> str:
    """One line: the exception and the source line it points at, as "ZeroDivisionError: ... at `return x / 0`"."""
    message = traceback.format_exception_only(type(error), error)[-1].strip()
    if isinstance(error, SyntaxError):
        source = (error.text or "").strip()
    else:
        frames = traceback.extract_tb(error.__traceback__)
        source = (frames[-1].line or "").strip() if frames else ""
    reason = f"{message} at `{source}`" if source else message
    return " ".join(reason.split())[:300]


# --- the candidate's side ---

def describe(value) -> tuple:
    if isinstance(value, type(sys)):
        return ("module", value.__name__)
    if callable(value):
        return ("function",)
    try:
        literal(value)
        return ("value", value)
    except (TypeError, ValueError, RecursionError):
        return ("other", type(value).__name__)


def flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def candidate(calls, answers, source: str) -> None:
    """Run the code; on success report its names, then answer calls until the judge closes the calls pipe."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(source, CODE_FILE, "exec"), namespace)
    except SystemExit:
        raise  # the process ends with the program's status: the judge sees the pipe close
    except BaseException as error:
        namespace.clear()  # after a MemoryError, free what the program held before writing the reason
        flush_output()
        send(answers, "raised", type(error).__name__, reason_of(error))
        return
    names = {name: describe(value) for name, value in namespace.items() if not name.startswith("__")}
    flush_output()
    send(answers, "ready", names)
    while (message := receive(calls)) is not None:
        _, name, args, kwargs = message
        try:
            result = namespace[name](*args, **kwargs)
        except SystemExit:
            raise
        except BaseException as error:
            flush_output()
            send(answers, "raised", type(error).__name__, reason_of(error))
            continue
        flush_output()
        try:
            send(answers, "returned", result)
        except (TypeError, ValueError, RecursionError) as error:
            send(answers, "raised", "TypeError", f"not judged: `{name}` returned {error}; only plain values reach "
                                                 "the tests")


# --- the judge's side ---

class CandidateGone(BaseException):
    """The candidate broke the protocol: its process went away (`ended`), it sent something that is not an answer,
    or the tests need what cannot cross (a function as an argument). A BaseException, so that a test's
    `except Exception` cannot swallow it; the channel also keeps the first one, so that no verdict after it passes."""

    def __init__(self, reason: str = "", ended: bool = False):
        super().__init__(reason)
        self.sandbox_reason, self.ended = reason, ended


class CandidateRaised(Exception):
    """The candidate raised an exception that is not one of Python's built-in ones, or one that steers control flow."""


def rebuilt_exception(type_name: str, reason: str) -> Exception:
    """What the candidate raised, as the judge's own exception: the built-in Exception type of that name (so that a
    test may catch ValueError), otherwise CandidateRaised, which is also what stands for the exceptions that steer
    control flow (StopIteration would end a test's `map` as if it were exhausted; GeneratorExit, KeyboardInterrupt and
    SystemExit are no Exception); the reason rides along for the verdict."""
    kind = getattr(builtins, type_name, None) if type_name.isidentifier() else None
    error: Exception = CandidateRaised(reason)
    if isinstance(kind, type) and issubclass(kind, Exception) and not issubclass(kind, CONTROL_FLOW):
        try:
            error = kind(reason)
        except Exception:
            pass
    error.sandbox_reason = reason
    return error


class Channel:
    """The judge's end of the two pipes. `call` sends one call and returns the answer or raises; `gone` keeps the
    first CandidateGone, which decides the verdict even if a test caught it."""

    def __init__(self, calls, answers):
        self.calls, self.answers = calls, answers
        self.gone: CandidateGone | None = None

    def fail(self, reason: str = "", ended: bool = False) -> CandidateGone:
        self.gone = self.gone or CandidateGone(reason, ended)
        return self.gone

    def receive(self, expected: str):
        """The payload of the next message, which must be `expected` (or "raised": then raise what was raised)."""
        if self.gone:
            raise self.gone
        try:
            message = receive(self.answers)
        except Exception as error:
            raise self.fail(f"the candidate sent something that is not a plain value ({error})"[:300]) from None
        if message is None:
            raise self.fail(ended=True)
        if type(message) is tuple and len(message) == 3 and message[0] == "raised" and \
                type(message[1]) is str and type(message[2]) is str:
            raise rebuilt_exception(message[1], " ".join(message[2].split())[:300])
        if type(message) is not tuple or len(message) != 2 or message[0] != expected:
            raise self.fail(f"the candidate sent something other than {expected!r}")
        return message[1]

    def call(self, name: str, args: tuple, kwargs: dict):
        try:
            request = literal(("call", name, args, kwargs))
        except (TypeError, ValueError, RecursionError) as error:
            raise self.fail(f"not judged: the tests pass `{name}` {error}; only plain values reach the candidate's "
                            "process") from None
        try:
            self.calls.write((request + "\n").encode("utf-8"))
            self.calls.flush()
        except BrokenPipeError:
            raise self.fail(ended=True) from None
        return self.receive("returned")


class Unavailable:
    """Stands in the tests for a top-level name whose value cannot cross (an instance of the candidate's class...)."""

    def __init__(self, channel: Channel, name: str, what: str):
        self.channel = channel
        self.message = f"not judged: `{name}` is {what} in the candidate's process; only functions and plain " \
                       "values reach the tests"

    def __call__(self, *args, **kwargs):
        raise self.channel.fail(self.message)

    def __getattr__(self, attribute):
        raise self.channel.fail(self.message)


def proxy(channel: Channel, name: str):
    def call(*args, **kwargs):
        return channel.call(name, args, kwargs)
    call.__name__ = call.__qualname__ = name
    return call


def test_namespace(channel: Channel, names) -> dict:
    """What the tests see: the candidate's functions as proxies, its plain values, the standard modules it
    imported. Built-in names are never taken from the candidate (its own `abs` or `AssertionError` stay its own)."""
    if type(names) is not dict:
        raise channel.fail("the candidate sent something other than its names")
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for name, description in names.items():
        if type(name) is not str or not name.isidentifier() or hasattr(builtins, name) or name.startswith("__"):
            continue
        kind = description[0] if type(description) is tuple and len(description) in (1, 2) else None
        if kind == "function":
            namespace[name] = proxy(channel, name)
        elif kind == "value" and len(description) == 2:
            namespace[name] = description[1]
        elif kind == "module" and type(description[-1]) is str and \
                description[-1].partition(".")[0] in sys.stdlib_module_names:
            namespace[name] = importlib.import_module(description[-1])
        else:
            what = f"a {description[-1]}" if kind == "other" else "not a plain value"
            namespace[name] = Unavailable(channel, name, what)
    return namespace


def verdict_of(error: BaseException) -> tuple[str, str]:
    if isinstance(error, CandidateGone) and error.ended:
        return "ended", ""
    reason = getattr(error, "sandbox_reason", None) or reason_of(error)
    return ("failed" if isinstance(error, AssertionError) else "error"), reason


def judge(calls, answers, source: str, verdict) -> None:
    """Wait for the candidate's names, run the tests against them, and write the verdict."""
    channel = Channel(calls, answers)
    try:
        namespace = test_namespace(channel, channel.receive("ready"))
        exec(compile(source, TESTS_FILE, "exec"), namespace)
        if channel.gone:
            raise channel.gone
    except BaseException as error:
        outcome = verdict_of(error)
    else:
        outcome = ("passed", "ran to the end")
    flush_output()
    send(verdict, *outcome)


def main(argv: list[str]) -> None:
    role, calls_fd, answers_fd, code_fd, *limits = argv[1:9]
    set_limits(*map(int, limits))
    sys.argv = [CODE_FILE]
    source = load_source(int(code_fd), TESTS_FILE if role.endswith("judge") else CODE_FILE)
    if role.endswith("judge"):
        with os.fdopen(int(calls_fd), "wb") as calls, os.fdopen(int(answers_fd), "rb") as answers, \
                os.fdopen(int(argv[9]), "wb") as verdict:
            judge(calls, answers, source, verdict)
    else:
        with os.fdopen(int(calls_fd), "rb") as calls, os.fdopen(int(answers_fd), "wb") as answers:
            candidate(calls, answers, source)


if __name__ == "__main__":
    main(sys.argv)
