"""The build backend of the yunxin-ecp sdist: maturin, after a check that Rust is there.

scripts/dist.sh puts this file into the sdist (build_backend/yunxin_ecp_build.py) and names it
in the sdist's pyproject.toml. Building the package compiles its Rust core, which needs cargo.
maturin 1.8 and later, finding no cargo on PATH, download a Rust toolchain (about 850 MB
unpacked, through the puccinialin package) into a temporary directory and build with that,
silently and for several minutes. Most people installing the sdist meant to install the wheel,
so without cargo this backend stops at once and names the wheel instead. Building with a
downloaded toolchain is still possible on request: YUNXIN_ECP_INSTALL_RUST=1 (or maturin's own
MATURIN_NO_INSTALL_RUST, to get maturin's message) hands everything to maturin unchanged.

Every hook is maturin's, run after the check (each of them runs cargo, if only for its metadata).
"""

import os
import shutil

import maturin

VERSION = "@VERSION@"
WHEEL = "@WHEEL@"


def _check_rust() -> None:
    if shutil.which("cargo") or os.environ.get("YUNXIN_ECP_INSTALL_RUST") == "1":
        return
    if os.environ.get("MATURIN_NO_INSTALL_RUST"):
        return
    raise SystemExit(
        f"yunxin-ecp {VERSION}: this is the source distribution, and building it needs Rust "
        "(cargo on PATH), which this machine does not have.\n"
        f"Install the prebuilt wheel instead: {WHEEL} (any CPython >= 3.10 on x86_64 Linux with "
        "glibc 2.17 or newer), e.g.\n"
        f"    pip install {WHEEL}\n"
        f"    pip install --only-binary yunxin-ecp yunxin-ecp=={VERSION}   # from an index\n"
        "To build from source, install Rust (https://rustup.rs) and put cargo on PATH; or set "
        "YUNXIN_ECP_INSTALL_RUST=1 to let maturin download a temporary toolchain (about 850 MB)."
    )


def _checked(name):
    hook = getattr(maturin, name)

    def checked(*args, **kwargs):
        _check_rust()
        return hook(*args, **kwargs)

    checked.__name__ = name
    return checked


# The hooks this maturin has (older ones lack some editable hooks; a frontend then does without).
# Packing an sdist runs cargo too (cargo metadata), so those hooks check as well.
for _name in (
    "get_requires_for_build_sdist",
    "build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_wheel",
    "build_wheel",
    "get_requires_for_build_editable",
    "prepare_metadata_for_build_editable",
    "build_editable",
):
    if hasattr(maturin, _name):
        globals()[_name] = _checked(_name)
