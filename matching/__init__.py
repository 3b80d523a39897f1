"""clinmatch matching library: pure Python, no web framework, no database.

Public API: NeedDoc, CapabilityDoc, Filters, Match, Matcher, load_embedder, HashingEmbedder (+ helpers below).
"""
from .docs import CapabilityDoc, Filters, Match, NeedDoc
from .embedding import E5Embedder, Embedder, HashingEmbedder, ModelNotBuiltError, USEEmbedder, load_embedder
from .embedding_st import SentenceTransformerEmbedder
from .glossary import Glossary, load_glossary
from .model_build import build as build_model
from .model_build import default_model_dir
from .ranker import Matcher

__all__ = [
    "CapabilityDoc",
    "E5Embedder",
    "Embedder",
    "Filters",
    "Glossary",
    "HashingEmbedder",
    "Match",
    "Matcher",
    "ModelNotBuiltError",
    "NeedDoc",
    "SentenceTransformerEmbedder",
    "USEEmbedder",
    "build_model",
    "default_model_dir",
    "load_embedder",
    "load_glossary",
]
