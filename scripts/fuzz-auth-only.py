#!/usr/bin/env python3
"""Operations that schemathesis reached only with 401/403 answers, from its NDJSON report.

    scripts/fuzz-auth-only.py REPORT.ndjson [openapi.yaml]

An operation whose every authenticated request was refused for credentials was never tested:
prints one `METHOD PATH (statuses)` line per such operation, and per operation never called at
all; prints nothing when every operation got past authentication at least once. Exit status 2
when the report cannot be read.
"""

import base64
import json
import re
import sys
from collections import defaultdict
from urllib.parse import urlsplit


def operations(openapi_path):
    # The document is YAML, but its paths are plain `  /api/...:` lines followed by method keys:
    # enough to read without a YAML parser (the fuzzer's Python has one, the system's may not).
    ops, path = [], None
    for line in open(openapi_path, encoding="utf-8"):
        m = re.match(r"^  (/\S+):\s*$", line)
        if m:
            path = m.group(1)
            continue
        if re.match(r"^\S", line):
            path = None
        m = re.match(r"^    (get|post|put|patch|delete):\s*$", line)
        if path and m:
            ops.append((m.group(1).upper(), path))
    return ops


def matcher(path):
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ops = operations(sys.argv[2] if len(sys.argv) > 2 else "openapi.yaml")
    patterns = [(method, path, matcher(path)) for method, path in ops]
    statuses = defaultdict(set)
    try:
        lines = open(sys.argv[1], encoding="utf-8").readlines()
    except OSError as e:
        print(f"cannot read {sys.argv[1]}: {e}", file=sys.stderr)
        sys.exit(2)
    for line in lines:
        event = json.loads(line).get("ScenarioFinished")
        if not event:
            continue
        for interaction in (event.get("recorder") or {}).get("interactions", {}).values():
            request, response = interaction.get("request") or {}, interaction.get("response")
            # Requests schemathesis sent without our token on purpose (the ignored_auth check)
            # are expected to be 401 and say nothing about whether the operation was reached.
            if not response or "Authorization" not in (request.get("headers") or {}):
                continue
            path = urlsplit(request.get("uri", "")).path
            for method, template, pattern in patterns:
                if method == request.get("method") and pattern.match(path):
                    statuses[(method, template)].add(response["status_code"])
                    break
    for method, path in ops:
        seen = statuses.get((method, path), set())
        if not seen - {401, 403}:
            print(f"{method} {path} ({', '.join(map(str, sorted(seen))) or 'never called'})")


if __name__ == "__main__":
    main()
