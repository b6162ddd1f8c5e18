"""Training: the Trainer loop, its loss and held-out measures, run health, the timeline and the logs it writes."""
