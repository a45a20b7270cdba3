"""schemathesis hooks for `make fuzz` (scripts/fuzz.sh loads this file through SCHEMATHESIS_HOOKS).

Idempotency-Key (API.md §11): schemathesis draws the header's values for every write from one
small space, so short keys ("0", "!") recur across test cases and operations. A key sent again
with another request is answered 422 `idempotency-key-reused` — rightly, but then the handler's
own answer (a 400, a 201, even a 500, which a held key turns into the 422 too) is never checked:
in a run without this hook about half of all requests came back 422. So a well-formed key gets
a suffix that makes it unique in the run (each run has a table of its own). A malformed one (a
negative case, which must be refused with 400) is sent as drawn.

Cases made negative through their headers are left alone entirely: editing a case's headers
makes schemathesis judge them again against the declared header parameters, and a case that is
negative for a missing `Authorization` (no declared parameter) would then count as positive and
be sent with the token after all.

Also: hypothesis describes a strategy's `.filter(lambda ...)` by parsing the lambda's source
file (`ast.parse`), and two workers parsing at once hit CPython 3.11's AST recursion-depth bug
(python/cpython#106905: "SystemError: AST constructor recursion depth mismatch"), reported as a
Runtime Error of whatever operation was being generated. Once openapi.yaml declared the
Idempotency-Key header that happened in three runs out of eight, so `ast.parse` is serialized
here (parses are rare and cached; runs took no longer, and six in a row passed).
"""

import ast
import itertools
import re
import threading

import schemathesis
from schemathesis.core.parameters import ParameterLocation


_ast_parse = ast.parse
_ast_lock = threading.RLock()


def _serialized_parse(*args, **kwargs):
    with _ast_lock:
        return _ast_parse(*args, **kwargs)


ast.parse = _serialized_parse

_WELL_FORMED = re.compile(r"[\x21-\x7e]{1,255}")
_HEADER = "idempotency-key"
_SEQUENCE = itertools.count(1)


def _negative_through_headers(case) -> bool:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    return getattr(meta.phase.data, "parameter_location", None) == ParameterLocation.HEADER


@schemathesis.hook
def before_call(ctx, case, kwargs):
    headers = case.headers
    if not headers or _negative_through_headers(case):
        return
    for name, value in list(headers.items()):
        if name.lower() == _HEADER and isinstance(value, str) and _WELL_FORMED.fullmatch(value):
            # At most 240 + 1 + 14 characters: still within the 255 a key may have.
            headers[name] = f"{value[:240]}.{next(_SEQUENCE)}"
