"""End to end: seeded tiny models must actually learn (fixed loss bounds, a few seconds each)."""

import numpy as np

import tinytorch as tt
from tinytorch import functional as F
from tinytorch import nn, optim


def test_mlp_learns_xor():
    tt.manual_seed(0)
    inputs = tt.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = optim.Adam(model.parameters(), lr=0.05)
    initial = F.cross_entropy(model(inputs), labels).item()
    for _ in range(200):
        opt.zero_grad()
        loss = F.cross_entropy(model(inputs), labels)
        loss.backward()
        opt.step()
    assert initial > 0.5 and loss.item() < 0.02
    assert model(inputs).argmax(dim=1).tolist() == labels.tolist()


class TinyTransformer(nn.Module):
    def __init__(self, vocab_size: int, block_size: int, n_embd: int = 32, n_head: int = 4):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.block = nn.TransformerBlock(n_embd, n_head)
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, ids: np.ndarray) -> tt.Tensor:
        x = self.wte(ids) + self.wpe(np.arange(ids.shape[1]))  # (B, T, C)
        return self.lm_head(self.ln_f(self.block(x)))  # (B, T, vocab)


def test_tiny_transformer_memorizes_a_string():
    text = "hello tinytorch, hello world!"
    vocab = sorted(set(text))
    ids = np.array([[vocab.index(ch) for ch in text]])
    inputs, targets = ids[:, :-1], ids[:, 1:]
    tt.manual_seed(0)
    model = TinyTransformer(len(vocab), inputs.shape[1])
    opt = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    initial = F.cross_entropy(model(inputs), targets).item()
    for _ in range(100):
        opt.zero_grad()
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    assert initial > 2.0 and loss.item() < 0.01
    model.eval()
    with tt.no_grad():
        predicted = model(inputs).argmax(dim=-1).numpy()
    assert "".join(vocab[i] for i in predicted[0]) == text[1:]
