"""TinyGPT: a small GPT trained on Python source with tinytorch."""
