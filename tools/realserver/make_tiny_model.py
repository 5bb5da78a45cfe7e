"""Write the tiny GGUF model that the real-server tests serve with llama.cpp.

``python tools/realserver/make_tiny_model.py [--cache DIR]`` prints the model's path. Everything
is made offline: the vocabulary is llama.cpp's vocab-only ``ggml-vocab-llama-spm.gguf``, read
from the llama-cpp-python source distribution (``pip download`` fetches it from PyPI, or pip's
cache serves it again), and the weights come from a seeded random generator. The model and the
sdist stay in the cache folder (``.realserver/``, ignored by git); nothing is committed.

The weights are random except for a few planted channels, because a model that is random
everywhere never ends a reply (the end-of-text token is 1 in 32,000) and picks tools by chance,
so every reply would be cut off by ``max_tokens`` and no test could say what must happen. The
planted part is a lookup on the current token plus two attention heads:

- after a newline it says `` Hello``, then `` world``, then ends: every chat reply is
  ``" Hello world"``, ``finish_reason: stop``;
- inside JSON it writes that same text into a string, with a raw newline at its end (as
  grammar-bound servers do), closes it and ends the object, so a grammar (``response_format``,
  tool arguments) finishes well before ``max_tokens``, at any temperature;
- llama-cpp-python's ``chatml-function-calling`` format picks between ``functions.NAME:`` and
  ``message:`` after a newline. Two heads notice whether ``functions`` and ``message`` occur
  earlier in the context, so with ``tool_choice: auto`` the model calls a tool on the first
  turn, stops after one call, and answers (``message:``) once a call is in the conversation.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
from numpy.typing import NDArray

__all__ = ["DEFAULT_CACHE", "MODEL_FILE", "build", "main", "vocab_file"]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO_ROOT / ".realserver"
"""Where the sdist, the vocabulary and the model are kept (``.realserver/``, git-ignored)."""
MODEL_FILE = "tiny-chatml-v2.gguf"
"""Bump the suffix when the recipe changes, so a stale cached model is not reused."""
VOCAB_FILE = "ggml-vocab-llama-spm.gguf"
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""The usual ChatML template (the server's chat endpoint uses it unless a chat format is set)."""

EMBED, HEADS, LAYERS, FFN, CONTEXT = 64, 4, 2, 128, 2048
HEAD_DIM = EMBED // HEADS
ROTARY_SLOT = HEAD_DIM - 2
"""The planted heads match in each head's last rotary pair, whose RoPE angle is negligible."""

# Channels of the residual stream. The flags are set by the token embeddings; SAW_* by the
# attention heads of layer 0; the rest is noise.
CONST, IS_F, IS_M, IS_NL, IS_A, IS_B, IS_QUOTE, IS_BRACE, IS_OPEN = range(9)
SAW_F, SAW_M, SAW_OPEN = range(9, 12)
NOISE = slice(12, EMBED)
Matrix = NDArray[np.float32]


@dataclass(frozen=True)
class Tokens:
    """The token ids the planted channels read and write."""

    f: list[int]
    """Prefixes of ``functions`` (the tool-call branch of chatml-function-calling)."""
    m: list[int]
    """Prefixes of ``message`` (its plain-answer branch)."""
    lt: list[int]
    """Prefixes of ``<|im_end|>`` (ending a turn after a tool call)."""
    quote: list[int]
    """A closing quote."""
    opening: list[int]
    """Every token whose text ends with a quote: what opens a JSON string (``":"``, ``"``...)."""
    brace: list[int]
    open: list[int]
    """Every token with a ``{``: JSON has started."""
    newline: int
    a: int
    b: int
    eos: int

    @classmethod
    def find(cls, pieces: list[str], eos: int) -> Tokens:
        # A grammar may pick a byte token (`<0x7B>` is `{`) as readily as the piece itself.
        texts = [_text(piece) for piece in pieces]

        def exactly(*words: str) -> list[int]:
            return [i for i, text in enumerate(texts) if text in words]

        def prefixes(word: str) -> list[int]:
            return exactly(*(word[:k] for k in range(1, len(word) + 1)))

        return cls(
            f=prefixes("functions"),
            m=prefixes("message"),
            lt=prefixes("<|im_end|>"),
            quote=exactly('"', ' "'),
            opening=[i for i, text in enumerate(texts) if text.endswith('"')],
            brace=exactly("}", " }"),
            open=[i for i, text in enumerate(texts) if "{" in text],
            newline=pieces.index("<0x0A>"),
            a=pieces.index("▁Hello"),
            b=pieces.index("▁world"),
            eos=eos,
        )


def _text(piece: str) -> str:
    """The text a SentencePiece token stands for: `▁` is a space, `<0xHH>` one ASCII byte."""
    if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
        code = int(piece[3:5], 16)
        return chr(code) if code < 0x80 else piece
    return piece.replace("▁", " ")


def _sdist(cache: Path) -> Path:
    """The llama-cpp-python sdist: in the cache, else fetched with ``pip download`` (the
    installed version when there is one)."""
    folder = cache / "sdist"
    found = sorted(folder.glob("llama_cpp_python-*.tar.gz"))
    if found:
        return found[-1]
    try:
        requirement = f"llama-cpp-python=={importlib.metadata.version('llama-cpp-python')}"
    except importlib.metadata.PackageNotFoundError:
        requirement = "llama-cpp-python"
    command = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps"]
    done = subprocess.run(
        [*command, "--dest", str(folder), requirement], capture_output=True, text=True
    )
    found = sorted(folder.glob("llama_cpp_python-*.tar.gz"))
    if done.returncode != 0 or not found:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(
            f"make_tiny_model: pip could not download the {requirement} sdist ({last}); "
            f"pass --vocab PATH to a {VOCAB_FILE} instead"
        )
    return found[-1]


def vocab_file(cache: Path) -> Path:
    """``ggml-vocab-llama-spm.gguf`` from the cache, else copied out of the sdist."""
    target = cache / VOCAB_FILE
    if target.is_file():
        return target
    sdist = _sdist(cache)
    with tarfile.open(sdist) as tar:
        for member in tar:
            if member.name.endswith(f"/vendor/llama.cpp/models/{VOCAB_FILE}"):
                data = tar.extractfile(member)
                if data is not None:
                    target.write_bytes(data.read())
                    return target
    raise SystemExit(f"make_tiny_model: {sdist} has no vendor/llama.cpp/models/{VOCAB_FILE}")


def _planted_layer() -> dict[str, Matrix]:
    """Layer 0's attention: head 0 attends to the ``functions`` tokens of the context, head 1
    to the ``message`` tokens and head 2 to the ``{`` tokens (scores of 20 or more against 0
    elsewhere); each copies its flag into its SAW_* channel: about 1 when such a token occurs
    earlier, else 0. Head 3 is unused."""
    q, k, v, o = (np.zeros((EMBED, EMBED), np.float32) for _ in range(4))
    flag_norm = 1 / 5.5  # a flagged token's RMSNorm scale is about 5.5 with this noise level
    for head, (flag, saw) in enumerate(((IS_F, SAW_F), (IS_M, SAW_M), (IS_OPEN, SAW_OPEN))):
        q[head * HEAD_DIM + ROTARY_SLOT, CONST] = 2.5
        k[head * HEAD_DIM + ROTARY_SLOT, flag] = 2.5
        v[head * HEAD_DIM, flag] = 1.0
        o[saw, head * HEAD_DIM] = flag_norm
    return {"attn_q": q, "attn_k": k, "attn_v": v, "attn_output": o}


def _random(rng: np.random.Generator, *shape: int, scale: float = 0.02) -> Matrix:
    return rng.normal(0.0, scale, shape).astype(np.float32)


def _output(rng: np.random.Generator, tokens: Tokens, vocab: int) -> Matrix:
    """The logits: noise for every token, plus the planted lookups of the module docstring."""
    out = np.zeros((vocab, EMBED), np.float32)
    out[:, NOISE] = _random(rng, vocab, EMBED - NOISE.start, scale=0.25)
    out[tokens.a, [IS_NL, IS_QUOTE, SAW_OPEN]] = [5.0, 8.0, -3.0]
    out[tokens.b, IS_A] = 5.0
    out[tokens.eos, [IS_B, IS_BRACE]] = 5.0
    # Inside JSON (a `{` earlier), " world" is followed by a raw newline, as grammar-bound
    # servers write them (their string rule allows control characters); then the string
    # closes. Outside JSON the end of text (5) beats the newline (at most 0).
    out[tokens.newline, [IS_B, SAW_OPEN, CONST]] = [6.0, 6.0, -6.0]
    # A bare quote wherever a grammar allows one and nothing planted is (opening a key or a
    # value, closing after " world"); below every planted choice, so plain text never has one.
    out[tokens.quote, CONST] = 3.5
    out[tokens.brace, IS_QUOTE] = 3.5
    # After a newline: call a tool (f) unless one was called already; then end the turn (lt)
    # or answer (m); once `message:` is written, the grammar's only text is `functions.NAME:`.
    for f in tokens.f:
        out[f, [IS_NL, SAW_F, SAW_M]] = [2.5, -1.5, 1.5]
    out[tokens.m, IS_NL] = 1.75
    out[tokens.lt, IS_NL] = 1.875
    return out


def _weights(tokens: Tokens, vocab: int, seed: int) -> dict[str, Matrix]:
    rng = np.random.default_rng(seed)
    embed = np.zeros((vocab, EMBED), np.float32)
    embed[:, CONST] = 1.0
    embed[:, NOISE] = _random(rng, vocab, EMBED - NOISE.start, scale=0.05)
    flags = {IS_F: tokens.f, IS_M: tokens.m, IS_QUOTE: tokens.opening, IS_BRACE: tokens.brace}
    flags[IS_OPEN] = tokens.open
    for channel, ids in {**flags, IS_NL: [tokens.newline], IS_A: [tokens.a]}.items():
        embed[ids, channel] = 1.0
    embed[tokens.b, IS_B] = 1.0
    tensors = {"token_embd.weight": embed, "output_norm.weight": np.ones(EMBED, np.float32)}
    tensors["output.weight"] = _output(rng, tokens, vocab)
    for layer in range(LAYERS):
        attention = (
            _planted_layer()
            if layer == 0
            else {name: _random(rng, EMBED, EMBED) for name in ("attn_q", "attn_k", "attn_v")}
            | {"attn_output": _random(rng, EMBED, EMBED)}
        )
        parts = attention | {
            "attn_norm": np.ones(EMBED, np.float32),
            "ffn_norm": np.ones(EMBED, np.float32),
            "ffn_gate": _random(rng, FFN, EMBED),
            "ffn_up": _random(rng, FFN, EMBED),
            "ffn_down": _random(rng, EMBED, FFN),
        }
        tensors |= {f"blk.{layer}.{name}.weight": value for name, value in parts.items()}
    return tensors


def build(vocab_path: Path, out: Path, seed: int = 0) -> Path:
    """Write the model to ``out`` (through a temporary file, so a crash leaves none)."""
    fields = gguf.GGUFReader(vocab_path).fields
    pieces = [str(p) for p in fields["tokenizer.ggml.tokens"].contents()]
    scores = [float(s) for s in fields["tokenizer.ggml.scores"].contents()]
    types = [int(t) for t in fields["tokenizer.ggml.token_type"].contents()]
    bos = int(fields["tokenizer.ggml.bos_token_id"].contents())
    eos = int(fields["tokenizer.ggml.eos_token_id"].contents())
    unknown = int(fields["tokenizer.ggml.unknown_token_id"].contents())
    tokens = Tokens.find(pieces, eos)

    partial = out.with_suffix(".tmp")
    writer = gguf.GGUFWriter(partial, "llama")
    writer.add_name("grasp-tiny-chatml")
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(EMBED)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(1e6)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_vocab_size(len(pieces))
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(pieces)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(bos)
    writer.add_eos_token_id(eos)
    writer.add_unk_token_id(unknown)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHATML)
    for name, tensor in _weights(tokens, len(pieces), seed).items():
        writer.add_tensor(name, tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="default: .realserver/")
    parser.add_argument("--vocab", type=Path, help=f"a {VOCAB_FILE} to use instead of the sdist's")
    parser.add_argument("--force", action="store_true", help="rebuild even if the model exists")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    model = args.cache / MODEL_FILE
    if args.force or not model.is_file():
        build(args.vocab or vocab_file(args.cache), model)
    print(model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
