"""Training reads as the pipeline: labels -> splits -> dataset -> fit -> evaluate -> register."""
