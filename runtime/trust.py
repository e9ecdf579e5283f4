"""Who may put native code on this machine: package signatures and the trusted-key store.

A package's kernels are C++ that the runtime compiles and runs in-process, so loading a
package is running its author's code. circ's trust model:

- Every file a package holds is listed in its manifest with its sha256; the runtime checks
  each one against it before using it (``runtime/package_check.py``), and checks every path,
  offset and size in the manifest, the launch graph and the weights header before native code
  sees them. That catches corruption and editing, but not an editor who also rewrites the
  manifest — hence:
- ``signature.json`` beside the manifest: an Ed25519 signature over ``manifest.json``'s bytes.
  ``cir.compile`` signs with the user's key, made on first use in ``$CIRC_HOME/keys``
  (``~/.config/circ`` by default; the private key is readable by its owner only).
- The runtime compiles and runs a package only if its signature verifies under a trusted key:
  the user's own, or a public key the user added (``circ trust --add-key build.pub``, e.g. the
  build server's, exported there with ``circ trust --export-key``). A package from elsewhere
  can also be trusted one by one after review: ``circ trust model.circ`` signs it with the
  user's key.

Not covered (documented in the README): a package modified *while* it is loaded (the files are
read once, checked, and the checked bytes used; weights are memory-mapped and hashed once per
file identity), and a trusted signer's own mistakes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cir.errors import CircError, UsageError

SIGNATURE = "signature.json"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def circ_home() -> Path:
    """``$CIRC_HOME``, else ``~/.config/circ``: the user's keys and trusted keys."""
    base = os.environ.get("CIRC_HOME")
    return Path(base) if base else Path.home() / ".config" / "circ"


def key_id(public: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of its sha256."""
    return hashlib.sha256(public.public_bytes(*_RAW)).hexdigest()[:16]


def signing_key() -> Ed25519PrivateKey:
    """The user's private key (made on first use, mode 0600 in a 0700 folder)."""
    path = circ_home() / "keys" / "signing.pem"
    if not path.is_file():
        fresh = Ed25519PrivateKey.generate()
        _write_private(path, fresh.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    try:  # read back: another process may have made the key first
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise CircError(f"{path}: cannot read the signing key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CircError(f"{path}: not an Ed25519 private key")
    return key


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    try:
        os.link(tmp, path)  # never replaces a key another process made meanwhile
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """key id -> public key: the user's own and those in ``$CIRC_HOME/trusted/*.pem``."""
    own = signing_key().public_key()
    keys = {key_id(own): own}
    folder = circ_home() / "trusted"
    for p in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        try:
            key = serialization.load_pem_public_key(p.read_bytes())
        except (OSError, ValueError) as e:
            raise CircError(f"{p}: not a public key ({e})") from None
        if isinstance(key, Ed25519PublicKey):
            keys[key_id(key)] = key
    return keys


def add_trusted_key(pem_file: Path) -> str:
    """Trust packages signed by the key in `pem_file` (an Ed25519 public key, PEM)."""
    try:
        key = serialization.load_pem_public_key(Path(pem_file).read_bytes())
    except (OSError, ValueError) as e:
        raise CircError(f"{pem_file}: not a public key ({e})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CircError(f"{pem_file}: not an Ed25519 public key")
    kid = key_id(key)
    dest = circ_home() / "trusted" / f"{kid}.pem"
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest.write_bytes(public_pem(key))
    return kid


def sign(package: Path, manifest_bytes: bytes | None = None) -> str:
    """Write `package`/signature.json over its manifest with the user's key; returns the key id."""
    key = signing_key()
    data = manifest_bytes if manifest_bytes is not None else (package / "manifest.json").read_bytes()
    sig = {"algorithm": "ed25519", "key_id": key_id(key.public_key()),
           "signature": key.sign(data).hex()}
    tmp = package / f".{SIGNATURE}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(sig, indent=1))
    os.replace(tmp, package / SIGNATURE)
    return sig["key_id"]


def check_signature(package: Path, manifest_bytes: bytes) -> str:
    """The id of the trusted key that signed `manifest_bytes`; else a CircError that says how
    to trust the package."""
    how = (f"its kernels are native code: review it, then `circ trust {package}` (or trust its "
           "signer's public key with `circ trust --add-key KEY.pem`)")
    path = package / SIGNATURE
    try:
        sig = json.loads(path.read_bytes())
        kid, signature = sig["key_id"], bytes.fromhex(sig["signature"])
        if not isinstance(kid, str) or sig.get("algorithm") != "ed25519":
            raise ValueError("unknown signature format")
    except FileNotFoundError:
        raise CircError(f"{package}: the package is not signed; {how}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise CircError(f"{path}: unreadable signature ({e}); {how}") from None
    key = trusted_keys().get(kid)
    if key is None:
        raise CircError(f"{package}: signed by key {kid}, which is not trusted here; {how}")
    try:
        key.verify(signature, manifest_bytes)
    except InvalidSignature:
        raise CircError(f"{package}: the signature does not match manifest.json "
                        f"(the package was modified after it was signed); {how}") from None
    return kid


def trust(package: str | os.PathLike[str]) -> str:
    """Trust a package you reviewed: its structure and hashes are checked, then it is signed
    with your key. Returns the key id."""
    from cir.runtime.package_check import open_package

    checked, _ = open_package(package, require_signature=False)
    return sign(Path(package), checked.manifest_bytes)


def describe(package: str | os.PathLike[str]) -> str:
    """One line on whether this machine would run `package`, and why."""
    from cir.runtime.package_check import open_package

    try:
        checked, _ = open_package(package)
    except CircError as e:
        return f"not trusted: {e}"
    return f"trusted: signed by key {checked.signer}, every file matches the manifest"


# --- `circ trust` -------------------------------------------------------------------------


def add_cli_arguments(sub) -> None:  # argparse.ArgumentParser
    sub.add_argument("packages", nargs="*", metavar="PACKAGE",
                     help="reviewed packages to trust (signed with your key)")
    sub.add_argument("--check", action="store_true",
                     help="only say whether each package would be run here, and why")
    sub.add_argument("--add-key", metavar="KEY.pem", action="append", default=[],
                     help="trust packages signed by this Ed25519 public key")
    sub.add_argument("--export-key", metavar="KEY.pem",
                     help="write your public key (to trust your packages elsewhere)")
    sub.add_argument("--list", action="store_true", help="list the trusted keys")


def cli_main(args) -> None:  # argparse.Namespace
    if not (args.packages or args.add_key or args.export_key or args.list):
        raise UsageError("nothing to do: give packages, --add-key, --export-key or --list")
    for pem in args.add_key:
        print(f"trusting packages signed by key {add_trusted_key(Path(pem))}")
    if args.export_key:
        out = Path(args.export_key)
        if out.is_dir():
            raise CircError(f"--export-key {out}: is a directory")
        pub = signing_key().public_key()
        try:
            out.write_bytes(public_pem(pub))
        except OSError as e:
            raise CircError(f"--export-key {out}: cannot write ({e.strerror})") from None
        print(f"wrote {out} (key {key_id(pub)})")
    for pkg in args.packages:
        if args.check:
            print(f"{pkg}: {describe(pkg)}")
        else:
            print(f"{pkg}: trusted (signed with key {trust(pkg)})")
    if args.list:
        own = key_id(signing_key().public_key())
        for kid in trusted_keys():
            print(kid + ("  (yours)" if kid == own else ""))
