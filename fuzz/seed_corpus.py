#!/usr/bin/env python3
"""Rebuild fuzz/corpus/decode_pdu/ from the byte fixtures in
tests/smpp_fixtures.rs: every frame literal there (valid PDUs and the
refusal cases), plus the whole set concatenated as one stream. Each file
starts with one byte the target reads as the stream chunk size.

Run from the repository root: python3 fuzz/seed_corpus.py
"""
import hashlib
import pathlib
import re

FIXTURES = pathlib.Path("tests/smpp_fixtures.rs")
OUT = pathlib.Path("fuzz/corpus/decode_pdu")


def spec_bytes(spec: str) -> bytes:
    """The h() notation: hex tokens and 'ascii' tokens."""
    out = bytearray()
    for token in spec.split():
        if token.startswith("'") and token.endswith("'") and len(token) >= 2:
            out += token[1:-1].encode()
        else:
            out += bytes.fromhex(token)
    return bytes(out)


def main() -> None:
    src = FIXTURES.read_text()
    consts = dict(re.findall(r'const (\w+): &str = "([^"]*)";', src))
    frames = []
    for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', src, re.S):
        lit = re.sub(r"\\\n\s*", " ", lit)  # Rust's backslash-newline continuation
        for name, value in consts.items():
            lit = lit.replace("{%s}" % name, value)
        lit = lit.replace("{id}", "00000009")
        if "{" in lit or not re.match(r"^[0-9a-f]{8}\s", lit):
            continue
        frames.append(spec_bytes(lit))
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    seeds = [b"\x40" + f for f in frames] + [b"\x07" + b"".join(frames)]
    for seed in seeds:
        name = hashlib.sha1(seed).hexdigest()[:16]
        (OUT / name).write_bytes(seed)
    print(f"{len(seeds)} seeds from {len(frames)} fixture frames -> {OUT}")


if __name__ == "__main__":
    main()
