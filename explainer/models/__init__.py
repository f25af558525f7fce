"""Layer 2, trained networks: the nets, the bundled weights and digit data, training, generating digits,
the denoiser on one digit, memorisation. Imports `explainer.core` only (and PyTorch, safetensors)."""
