#!/usr/bin/env python3
"""Rebuild the committed seed corpora under fuzz/corpus/ from the
repository's own fixtures:

- decode_pdu: every frame literal in tests/smpp_fixtures.rs (valid PDUs and
  the refusal cases), plus the whole set concatenated as one stream. Each
  file starts with one byte the target reads as the stream chunk size.
- flow: the shipped flows, tests/fixtures/engine and every flow fixture
  (good and broken) under tests/fixtures/flows.
- template: every translated text, prompt, label and SMS in those flows,
  and the string literals of src/engine/template/tests.rs.
- expr: every branch condition (`if:`) in those flows and the string
  literals of src/engine/expr/tests.rs.
- dial: the service codes of those flows, the dials in flows/*.test and
  demo/*.script, and the string literals of src/engine/dial.rs.
- config: config/*.toml and tests/fixtures/config/**/*.toml.

Run from the repository root: python3 fuzz/seed_corpus.py [TARGET...]
(needs PyYAML). A target's folder is emptied first, so run this before
fuzzing, not after: the corpus a run grows is kept only if you commit it.
"""
import hashlib
import pathlib
import re
import sys

import yaml

FIXTURES = pathlib.Path("tests/smpp_fixtures.rs")
CORPUS = pathlib.Path("fuzz/corpus")
FLOW_FILES = sorted(
    list(pathlib.Path("flows").glob("*.yaml"))
    + list(pathlib.Path("tests/fixtures/engine").glob("*.yaml"))
    + list(pathlib.Path("tests/fixtures/flows").rglob("*.yaml"))
)
TEXT_KEYS = {"title", "text", "prompt", "error", "label"}
LANGS = {"ar", "ckb", "en"}


def spec_bytes(spec: str) -> bytes:
    """The h() notation: hex tokens and 'ascii' tokens."""
    out = bytearray()
    for token in spec.split():
        if token.startswith("'") and token.endswith("'") and len(token) >= 2:
            out += token[1:-1].encode()
        else:
            out += bytes.fromhex(token)
    return bytes(out)


def rust_strings(path: str) -> list[str]:
    """The plain "..." literals of a Rust file, unescaped (simple escapes)."""
    src = pathlib.Path(path).read_text()
    out = []
    simple = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}

    def unescape(m: re.Match) -> str:
        if m.group(1):
            return chr(int(m.group(1), 16))
        return simple.get(m.group(2), m.group(0))

    for lit in re.findall(r'(?<![r#\w])"((?:[^"\\\n]|\\.)*)"', src):
        out.append(re.sub(r"\\(?:u\{([0-9a-fA-F]+)\}|(.))", unescape, lit))
    return out


def pdu_seeds() -> list[bytes]:
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
    return [b"\x40" + f for f in frames] + [b"\x07" + b"".join(frames)]


def flow_docs() -> list[object]:
    docs = []
    for path in FLOW_FILES:
        try:
            docs.append(yaml.safe_load(path.read_text()))
        except yaml.YAMLError:
            pass  # the broken fixtures include bad YAML on purpose
    return docs


def walk(node, key=None):
    """(key, string) for every string leaf, with the nearest mapping key
    that is not a language code."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, key if k in LANGS else k)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v, key)
    elif isinstance(node, str):
        yield key, node


def template_seeds() -> list[bytes]:
    texts = [s for d in flow_docs() for k, s in walk(d) if k in TEXT_KEYS or "{" in s]
    texts += [s for s in rust_strings("src/engine/template/tests.rs") if s]
    return [t.encode() for t in texts]


def expr_seeds() -> list[bytes]:
    conds = [s for d in flow_docs() for k, s in walk(d) if k == "if"]
    conds += [s for s in rust_strings("src/engine/expr/tests.rs") if s.strip()]
    return [c.encode() for c in conds]


def dial_seeds() -> list[bytes]:
    dials = [s for d in flow_docs() for k, s in walk(d) if k == "ussd"]
    for path in list(pathlib.Path("flows").glob("*.test")) + list(pathlib.Path("demo").glob("*.script")):
        for line in path.read_text().splitlines():
            line = line.removeprefix("> ").strip()
            if line[:1] in ("*", "#") and line.endswith("#"):
                dials.append(line)
    dials += [s for s in rust_strings("src/engine/dial.rs") if s[:1] in "*#٠١ " and len(s) < 200]
    return [d.encode() for d in dials]


def config_seeds() -> list[bytes]:
    files = sorted(pathlib.Path("config").glob("*.toml")) + sorted(
        pathlib.Path("tests/fixtures/config").rglob("*.toml")
    )
    return [f.read_bytes() for f in files]


TARGETS = {
    "decode_pdu": pdu_seeds,
    "flow": lambda: [p.read_bytes() for p in FLOW_FILES],
    "template": template_seeds,
    "expr": expr_seeds,
    "dial": dial_seeds,
    "config": config_seeds,
}


def main() -> None:
    for target in sys.argv[1:] or TARGETS:
        out = CORPUS / target
        out.mkdir(parents=True, exist_ok=True)
        for old in out.iterdir():
            old.unlink()
        seeds = {hashlib.sha1(s).hexdigest()[:16]: s for s in TARGETS[target]()}
        for name, seed in seeds.items():
            (out / name).write_bytes(seed)
        print(f"{target}: {len(seeds)} seeds -> {out}")


if __name__ == "__main__":
    main()
