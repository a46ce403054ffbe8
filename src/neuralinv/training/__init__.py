"""Training: configurations, their data, the batched ensemble and its loop, resumable state and run directories.

config (TrainConfig, its data source, the budgets) -> data (sampling, rejection rules, one's own matrices, batch
streams) and pairs (a configuration's training and test pairs) -> engine (the batched step) and schedule -> loop
(train_group, train_ensemble; state saves and resumes it) -> result (TrainResult) -> runs (run directories, run.json).
evaluation and metrics score networks against the classical baselines; reference is the plain loop the ensemble is
checked against.
"""
