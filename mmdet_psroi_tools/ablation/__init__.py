"""tools/ablation.py's parts: run_cache, training (the seed loop, inference timing), report."""
