"""Steps to a target with the rate tuned per batch size: the S(B) fits, the critical batch
size against the gradient noise scale, and claim C5."""
