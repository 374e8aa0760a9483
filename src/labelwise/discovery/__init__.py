"""New-intent discovery: cluster the messages a model cannot place, and name the clusters.

Messages the current model puts in the out-of-scope class, or answers with low
confidence, are the candidates (:func:`candidates`). Their sentence embeddings are
clustered with HDBSCAN (:func:`discover_intents`): dense groups of similar messages are
likely intents the label schema lacks; the rest is noise. Each cluster comes with its
members nearest the centroid first (the representatives a reviewer reads) and a suggested
name from its distinctive words (class-based TF-IDF against all candidates).

The service's discovery job and the new-intents simulation call the same functions.
"""

from labelwise.discovery.clusters import (
    IntentCluster,
    candidates,
    discover_intents,
    distinctive_terms,
    suggest_name,
)

__all__ = ["IntentCluster", "candidates", "discover_intents", "distinctive_terms", "suggest_name"]
