"""tools/ablation.py's parts: ``run_cache`` (where a run lives, whether a finished one can be
reused, loading it), ``training`` (a run's config, its training and evaluation, the seed
loop), ``timing`` (inference time of the trained models, in interleaved rounds) and
``report`` (statistics over seeds, results.md, the plots)."""
