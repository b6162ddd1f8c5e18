"""tinytorch's tests: the engine and every op against PyTorch, layers, optimizers, data, tokenizers, generation."""
