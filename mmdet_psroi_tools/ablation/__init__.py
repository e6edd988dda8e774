"""tools/ablation.py's parts: run_cache, training (and the seed loop), timing, report."""
