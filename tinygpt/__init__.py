"""TinyGPT: a small GPT trained on Python source with tinytorch.

The API: `model` (GPTConfig, GPT), `generate` (load a checkpoint, complete prompts; the decoding defaults and the
one check of a GenerationConfig), `checkpoint` (safetensors with metadata), `config` (TrainConfig).
    data/    Python sources to token arrays, and the batches cut from them
    train/   the Trainer and what it measures and writes
    eval/    bits per byte, held-out functions, the task suite, HumanEval, the sandbox
    hf/      export to and import from Hugging Face's GPT-2
    scale/   continue training on many processes with PyTorch (`tinygpt scale-train`; the only torch in tinygpt)
    serve/   the playground
    cli/     the `tinygpt` command, one module per subcommand; nothing else imports it
"""
