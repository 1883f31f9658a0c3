#!/usr/bin/env python3
"""Runs every fault mode of the mock against every language binding and prints one table:
fault, operation, then for each language the error it reported and the time it took, and
whether its process survived (exited 0 after printing DONE). The last row is the call-end
callbacks: every call the mock placed, faults or not, must have its callback received and
verified ("all N verified"); and one of them, delivered twice to a handler behind the language's
duplicate guard, must reach the handler once ("handled 1 of 2 deliveries").

A language fails when its process did not survive, a row is missing, its outcome for a case
differs from the other languages' (they share one core, so they must agree), or a callback
was lost or refused.

Each language's program prints `ROW<TAB>fault<TAB>operation<TAB>outcome<TAB>ms` lines; a
program that crashes or hangs (bounded by a timeout) is reported as such, with the rows it got
to. Usage: scripts/fault-table.sh (which builds and installs what the programs need)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 180


def programs() -> "list[tuple[str, list[str], dict[str, str]]]":
    venv_python = os.environ.get("YUNXIN_PY", str(ROOT / ".venv-test" / "bin" / "python"))
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    lib = str(Path(target) / "release")
    env = dict(os.environ)
    # The C program has an rpath; C# and PHP find the release library through these.
    library_path = os.pathsep.join(filter(None, [lib, env.get("LD_LIBRARY_PATH")]))
    native = dict(env, LD_LIBRARY_PATH=library_path)
    mock = str(Path(lib) / "yunxin-ecp-mock")
    found = [
        ("rust", [str(Path(target) / "release" / "fault-table"), "--rows"], env),
        ("python", [venv_python, str(ROOT / "tests" / "faults" / "faults.py")], env),
    ]
    for name, argv, program_env in (
        ("c", [str(Path(target) / "faults-c")], env),
        ("php", ["php", "-d", "ffi.enable=1", str(ROOT / "tests" / "faults" / "faults.php")],
         dict(native, YUNXIN_ECP_LIB=str(Path(lib) / "libyunxin_ecp.so"))),
        ("csharp", ["mono", str(Path(target) / "faults-csharp.exe")], native),
        # The JVM and Node programs start the mock binary (the suites' own build) themselves.
        ("java", ["java", f"-Dyunxinecp.mock={mock}", "-jar", str(Path(target) / "faults-java" / "faults.jar")], env),
        ("node", ["node", str(ROOT / "tests" / "faults" / "faults.js")], dict(env, YUNXIN_ECP_MOCK=mock)),
    ):
        script_or_binary = Path(argv[-1])
        if script_or_binary.exists() and shutil.which(argv[0]):
            found.append((name, argv, program_env))
    return found


def run(
    argv: "list[str]", env: "dict[str, str]"
) -> "tuple[dict[tuple[str, str], tuple[str, str]], str]":
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=ROOT, env=env
        )
        out, status = proc.stdout, ("survived" if proc.returncode == 0 else f"exit {proc.returncode}")
    except subprocess.TimeoutExpired as e:
        out, status = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), "HUNG"
    rows = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 5 and parts[0] == "ROW":
            rows[(parts[1], parts[2])] = (parts[3], parts[4])
    if status == "survived" and "DONE" not in out.splitlines():
        status = "no DONE"
    return rows, status


def main() -> int:
    results = {name: run(argv, env) for name, argv, env in programs()}
    languages = list(results)
    keys: "list[tuple[str, str]]" = []
    for rows, _ in results.values():
        keys.extend(k for k in rows if k not in keys)
    width = 54
    print(f"{'fault':<22} {'operation':<11} " + " ".join(f"{lang:<{width}}" for lang in languages))
    print("-" * (34 + (width + 1) * len(languages)))
    for fault, operation in keys:
        cells = []
        for lang in languages:
            outcome, ms = results[lang][0].get((fault, operation), ("MISSING", "-"))
            cells.append(f"{outcome + ' (' + ms + ' ms)':<{width}}")
        print(f"{fault:<22} {operation:<11} " + " ".join(cells))
    print(f"{'process':<34} " + " ".join(f"{results[l][1]:<{width}}" for l in languages))
    problems: "dict[str, list[str]]" = {lang: [] for lang in languages}
    for lang in languages:
        rows, status = results[lang]
        if status != "survived":
            problems[lang].append(f"process {status}")
        for key in keys:
            if key not in rows:
                problems[lang].append(f"missing {key[0]}/{key[1]}")
        location = rows.get(("redirect", "location_host"), ("", ""))[0]
        if location != "0 requests":
            problems[lang].append(f"redirect: the Location host got {location or 'no row'}")
        callbacks = rows.get(("callbacks", "delivered"), ("", ""))[0]
        if not callbacks.startswith("all "):
            problems[lang].append(f"callbacks: {callbacks or 'no row'}")
        duplicate = rows.get(("duplicate_delivery", "handler"), ("", ""))[0]
        if duplicate != "handled 1 of 2 deliveries":
            problems[lang].append(f"duplicate delivery: {duplicate or 'no row'}")
    # The majority outcome of each case; a language reporting anything else disagrees.
    for key in keys:
        outcomes = [results[lang][0][key][0] for lang in languages if key in results[lang][0]]
        usual = max(set(outcomes), key=outcomes.count) if outcomes else ""
        for lang in languages:
            outcome = results[lang][0].get(key, (usual, ""))[0]
            if outcome != usual:
                problems[lang].append(f"{key[0]}/{key[1]}: {outcome!r}, the others {usual!r}")
    bad = [lang for lang in languages if problems[lang]]
    print(f"fault table: {len(languages) - len(bad)} passed, {len(bad)} failed")
    for lang in bad:
        print(f"{lang}: " + "; ".join(problems[lang]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
