"""clinmatch matching library: pure Python, no web framework, no database.

Public API: NeedDoc, CapabilityDoc, Filters, Match, Matcher, load_embedder, HashingEmbedder (+ helpers below).
"""
from .docs import CapabilityDoc, Filters, Match, NeedDoc
from .embedding import Embedder, E5Embedder, HashingEmbedder, ModelNotBuiltError, USEEmbedder, load_embedder
from .glossary import Glossary, load_glossary
from .model_build import build as build_model, default_model_dir
from .ranker import Matcher

__all__ = ["NeedDoc", "CapabilityDoc", "Filters", "Match", "Matcher", "load_embedder", "HashingEmbedder", "Embedder",
           "USEEmbedder", "E5Embedder", "ModelNotBuiltError", "Glossary", "load_glossary", "build_model",
           "default_model_dir"]
