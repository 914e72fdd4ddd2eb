"""Training a refiner: the loop in small steps (set-up, step, validate, save), the batch policy (real
detector pairs mixed into synthetic batches) and validation with the default start levels."""
