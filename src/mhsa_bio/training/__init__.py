"""Training the promoter model: one fit (trainer), files in and checkpoint out (run), cross-validation."""
