"""Featurizers (TF-IDF, sentence embeddings, both side by side), word clusters for
taggers, and the on-disk embedding cache."""

from labelwise.features.base import Featurizer, ProgressCallback
from labelwise.features.cache import EmbeddingCache
from labelwise.features.concatenated import ConcatenatedFeaturizer
from labelwise.features.sentence import SentenceEmbedder, sentence_embeddings_installed
from labelwise.features.tfidf import TfidfFeaturizer
from labelwise.features.word_clusters import WordClusters

__all__ = [
    "ConcatenatedFeaturizer",
    "EmbeddingCache",
    "Featurizer",
    "ProgressCallback",
    "SentenceEmbedder",
    "TfidfFeaturizer",
    "WordClusters",
    "sentence_embeddings_installed",
]
