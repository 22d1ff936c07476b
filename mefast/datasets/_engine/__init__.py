"""The reading engine behind the corpus readers (private; :mod:`mefast.datasets` re-exports the public names).

Modules: ``table`` (annotation sheets), ``frames`` (frame folders), ``reader`` (the spec-driven reader),
``base`` (the Dataset type) and ``layout`` (the on-disk layout description the synthetic writer follows).
"""
