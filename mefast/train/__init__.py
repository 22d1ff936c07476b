"""The torch layer: store-backed datasets, models, noisy-label methods and the trainer.

Only this package imports torch; ``import mefast`` never does.
"""
