"""Training the promoter model: one fit (trainer; its epochs, batches and optimisation), files in and
checkpoint out (run), the train command's plan (plan), ensembles and cross-validation."""
