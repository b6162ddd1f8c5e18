"""The scale-out path: continue training a TinyGPT on many processes with PyTorch's distributed engine, and come
back (`tinygpt scale-train` under `torchrun`; docs/scale.md).

Why a package of its own: this is the one place in tinygpt that imports torch and transformers, so they stay an
extra (`pip install -e ".[scale]"`) and tinytorch and the rest of the product never see them. Nothing in the
product imports this package; only its command (`tinygpt.cli.scale_train`) does, and only once it runs.

It sits on the top floor of the library, beside `serve`: it reads the project's prepared data (`tinygpt.data`), its
training recipe (`tinygpt.train.config`, tinytorch's schedule and Muon split), its loss units (`tinygpt.train.loss`)
and its export (`tinygpt.hf.mapping`), and writes checkpoints that `tinygpt import-hf` reads back.

    batches.py   which windows each rank trains and evaluates on (NumPy only): N ranks of batch B draw exactly
                 the batches one process of batch N*B would
    gpt2.py      the model as transformers' GPT2LMHeadModel, the optimizer (AdamW, or torch's Muon with tinytorch's
                 split), the masked loss
    state.py     where a run starts (a config, a TinyGPT checkpoint, or --resume) and its checkpoints: the Hugging
                 Face directory export-hf writes, plus what resumes it; rank 0 writes them, atomically
    trainer.py   the process group and the loop: accumulate, all-reduce, clip, schedule, step, evaluate, save
"""
