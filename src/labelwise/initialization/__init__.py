"""Cold start: the first batch to label, chosen without a trained model."""

from labelwise.initialization.seed_sets import (
    RandomSeedSet,
    RepresentativeSeedSet,
    SeedSetStrategy,
    ZeroShotSeedSet,
)

__all__ = ["RandomSeedSet", "RepresentativeSeedSet", "SeedSetStrategy", "ZeroShotSeedSet"]
