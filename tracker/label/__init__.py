"""Label: give each post its answer, debate and progress probabilities, labels and evidence."""
