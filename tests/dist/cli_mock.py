"""The command's tarball against its own mock, as an operator runs them:

    python3 cli_mock.py BIN_DIR [mock-binary|mock-subcommand]

Starts bin/yunxin-ecp-mock --port 0 --exit-on-stdin-eof (or `bin/yunxin-ecp mock` with the same
options) on 127.0.0.1, reads its "listening on URL" line, asks GET /_mock/stats (HTTP 200 and a
JSON object), places a call with `bin/yunxin-ecp --base-url URL call ... --json` and queries it
with `bin/yunxin-ecp query SESSION --json`, then closes the mock's standard input: it must exit
with status 0. The samples' credentials (which the mock accepts) are passed in the environment.
Every wait is bounded (30 s). Exits non-zero at the first failure.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.request

WAIT_S = 30
ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": os.environ.get("HOME", "/"),
    "YUNXIN_APP_KEY": "fd460d34e786e7754e505bc4fab0f027",
    "YUNXIN_APP_SECRET": "xxxxxxxx",
}


def fail(what: str) -> None:
    print(f"FAILED {what}")
    sys.exit(1)


def run(args: list[str]) -> dict:
    done = subprocess.run(args, env=ENV, capture_output=True, text=True, timeout=WAIT_S)
    print(f"$ {' '.join(args[1:])}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        fail(f"{args[1:]} exited with {done.returncode}")
    return json.loads(done.stdout)


def main() -> None:
    bin_dir, how = sys.argv[1], sys.argv[2]
    options = ["--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof"]
    if how == "mock-binary":
        command = [os.path.join(bin_dir, "yunxin-ecp-mock"), *options]
    else:
        command = [os.path.join(bin_dir, "yunxin-ecp"), "mock", *options]
    mock = subprocess.Popen(command, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines: "queue.Queue[str | None]" = queue.Queue()

    def read() -> None:
        for line in mock.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        base_url = None
        while base_url is None:
            try:
                line = lines.get(timeout=WAIT_S)
            except queue.Empty:
                fail(f"{' '.join(command)}: no 'listening on' line within {WAIT_S} s")
            if line is None:
                fail(f"{' '.join(command)} ended before listening (status {mock.wait(WAIT_S)})")
            print(line, end="")
            if "listening on " in line:
                base_url = line.split("listening on ", 1)[1].split()[0]
        if not base_url.startswith("http://127.0.0.1:"):
            fail(f"listening on {base_url}: not 127.0.0.1")
        with urllib.request.urlopen(f"{base_url}/_mock/stats", timeout=WAIT_S) as answer:
            stats = json.loads(answer.read())
            if answer.status != 200 or not isinstance(stats, dict):
                fail(f"GET /_mock/stats: {answer.status} {stats!r}")
        print(f"GET /_mock/stats: {stats}")
        cli = os.path.join(bin_dir, "yunxin-ecp")
        started = run([cli, "--base-url", base_url, "--json", "call", "liuxuanlin", "13888888888",
                       "13777777777", "--max-dur", "60"])
        session = started.get("session")
        if not session:
            fail(f"call: no session in {started!r}")
        record = run([cli, "--base-url", base_url, "--json", "query", session])
        if session not in json.dumps(record):
            fail(f"query {session}: the record does not name it: {record!r}")
    finally:
        mock.stdin.close()
        try:
            status = mock.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            mock.kill()
            fail(f"the mock did not stop within {WAIT_S} s of its standard input closing")
    if status != 0:
        fail(f"the mock exited with {status} when its standard input closed")
    print("ok")


if __name__ == "__main__":
    main()
