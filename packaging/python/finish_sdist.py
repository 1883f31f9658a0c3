"""Finishes the sdist `maturin sdist` wrote, in place (run by scripts/dist.sh):

- adds the Python examples (examples/python/*.py of the repository) at examples/python/: maturin
  takes files only from under py/, and the examples live beside those of the other languages;
- adds build_backend/yunxin_ecp_build.py (packaging/python/) and makes it the sdist's build
  backend: maturin behind a check that cargo is there, which names the wheel to install instead
  of letting maturin download a Rust toolchain.

    python3 finish_sdist.py SDIST REPO VERSION WHEEL_NAME EPOCH

The archive stays reproducible: members in maturin's order then the added ones sorted, owner 0,
every added member's time EPOCH, gzip without a name or time.
"""

import gzip
import io
import sys
import tarfile
from pathlib import Path

BACKEND_LINE = 'build-backend = "maturin"\n'


def main(sdist: str, repo: str, version: str, wheel: str, epoch: str) -> None:
    repo_path = Path(repo)
    mtime = int(epoch)
    with tarfile.open(sdist, "r:gz") as old:
        members = [(m, old.extractfile(m).read() if m.isfile() else None) for m in old.getmembers()]
    roots = {m.name.split("/", 1)[0] for m, _ in members}
    if len(roots) != 1:
        raise SystemExit(f"finish_sdist: expected one top directory in {sdist}, found {sorted(roots)}")
    root = roots.pop()

    out = []
    changed = False
    for member, data in members:
        if member.name == f"{root}/pyproject.toml":
            text = data.decode()
            if text.count(BACKEND_LINE) != 1:
                raise SystemExit(f"finish_sdist: {member.name} has no single line {BACKEND_LINE!r}")
            text = text.replace(
                BACKEND_LINE,
                "# maturin, behind a check that Rust is there (build_backend/yunxin_ecp_build.py)\n"
                'build-backend = "yunxin_ecp_build"\n'
                'backend-path = ["build_backend"]\n',
            )
            data = text.encode()
            member.size = len(data)
            changed = True
        out.append((member, data))
    if not changed:
        raise SystemExit(f"finish_sdist: no {root}/pyproject.toml in {sdist}")

    backend = (repo_path / "packaging/python/yunxin_ecp_build.py").read_text()
    backend = backend.replace("@VERSION@", version).replace("@WHEEL@", wheel)
    added = {f"{root}/build_backend/yunxin_ecp_build.py": backend.encode()}
    examples = sorted((repo_path / "examples/python").glob("*.py"))
    if not examples:
        raise SystemExit("finish_sdist: no examples/python/*.py")
    for path in examples:
        added[f"{root}/examples/python/{path.name}"] = path.read_bytes()
    have = {m.name for m, _ in out}
    for name in sorted(added):
        if name in have:
            raise SystemExit(f"finish_sdist: {name} is already in the sdist")
        info = tarfile.TarInfo(name)
        info.size = len(added[name])
        info.mtime = mtime
        info.mode = 0o644
        out.append((info, added[name]))

    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as new:
            for member, data in out:
                member.uid = member.gid = 0
                member.uname = member.gname = ""
                new.addfile(member, io.BytesIO(data) if data is not None else None)
    Path(sdist).write_bytes(buffer.getvalue())


if __name__ == "__main__":
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
