"""The TinyGPT playground, `tinygpt serve`: a local web page where a learner generates with their own checkpoint and
looks inside while it happens (each token's probability and alternatives, the candidates after every logits
processor, the attention of every layer and head, the KV cache on and off).

    app.py         `create_app(model, tokenizer, limits)`: the endpoints
    schema.py      request bodies, `Limits`, and the request -> GenerationConfig mapping of `tinygpt generate`
    session.py     one generation streamed as server-sent events
    inspection.py  attention maps and the KV cache comparison
    worker.py      the one thread that runs the model, and the limits in front of it
    static/        the page, its script and style (no build step, nothing fetched from the network)

The command, `tinygpt serve` (options, loading the checkpoint, uvicorn on a loopback port), is `tinygpt/cli/serve.py`.
"""

from tinygpt.serve.app import create_app
from tinygpt.serve.schema import Limits

__all__ = ["Limits", "create_app"]  # the command, `tinygpt serve`, is tinygpt.cli.serve (the library needs none)
