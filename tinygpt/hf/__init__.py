"""Hugging Face interop: export to and import from a GPT-2 model directory, and the weight-name mapping."""
