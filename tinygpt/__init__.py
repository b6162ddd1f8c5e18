"""TinyGPT: a small GPT trained on Python source with tinytorch.

The API: `model` (GPTConfig, GPT), `generate` (load a checkpoint, complete prompts; the decoding defaults and the
one check of a GenerationConfig), `checkpoint` (safetensors with metadata), `train.config` (TrainConfig).
    sandbox/ run untrusted code (a model's completion) against trusted tests, contained by the kernel
    tasks/   function-completion tasks and their judging: the suite, the unseen-words set, MBPP as tasks, code that
             checks itself (verify) and the runner that evaluations and the training timeline share (task_eval)
    data/    Python sources to token arrays, and the batches cut from them; the exercise generator
    train/   a run's settings (config), the Trainer and what it measures and writes
    eval/    bits per byte, held-out functions, HumanEval's sampled pass@k
    hf/      export to and import from Hugging Face's GPT-2
    bench/   `tinygpt bench`: speed and memory against PyTorch eager (its PyTorch side: the `bench` extra)
    scale/   continue training on many processes with PyTorch (`tinygpt scale-train`, the `scale` extra)
    serve/   the playground
    cli/     the `tinygpt` command, one module per subcommand; nothing else imports it

Imports run one way: down the floors of `LAYERS`, bottom first. A part (a module or package directly under
tinygpt/) imports only parts on floors below its own, never one beside or above it, not even inside a function; and
nothing is loaded by file path (tests/test_packaging.py holds both). Where two parts need one piece, the piece lives
on the lower floor: the tasks and their runner sit below data (which keeps evaluation tasks out of training) and
below train (whose timeline runs them); the loss estimate sits in train, which eval measures with.
"""

LAYERS = (
    ("outputs", "console", "sandbox"),  # files written whole, lines for people, contained code: none imports tinygpt
    ("model", "code_completion"),  # the network; the text around a completion
    ("checkpoint",),  # weights on disk
    ("generate",),  # the API: load a checkpoint, complete prompts
    ("tasks",),
    ("data",),
    ("train",),
    ("eval",),
    ("hf",),
    ("bench", "scale"),  # measure against PyTorch eager; train on PyTorch's distributed engine
    ("serve",),
    ("cli",),
    ("__main__",),  # `python -m tinygpt`
)
