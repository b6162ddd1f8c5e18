"""The decoding explainer in the terminal: `tinygpt generate --explain` prints, for each generated token, the
candidates after each logits processor, in the order they ran, and which token was finally chosen.

    --- step 3: chose ' return' (p 0.412 after the processors, 0.231 from the model) ---
      model                   ' return' 0.231  ' if' 0.120  ' self' 0.090  ...  (4096 tokens possible)
      RepetitionPenalty(1.3)  ' return' 0.244  ' if' 0.127  ' self' 0.081  ...  (4096 kept)
      Temperature(0.8)        ' return' 0.301  ' if' 0.133  ' self' 0.079  ...  (4096 kept)
      TopPFilter(0.95)        ' return' 0.412  ' if' 0.182  ' self' 0.108  ...  (37 kept)

The numbers are probabilities (the softmax of the scores at that stage); a filtered token has probability 0, so
"kept" counts the tokens a draw could still pick. The browser playground (`tinygpt serve`) shows the same table.
"""

from __future__ import annotations

from collections.abc import Callable

from tinytorch.generation import DecodingTrace, StepTrace

__all__ = ["format_step", "format_trace"]


def token_text(decode: Callable[[list[int]], str], token: int) -> str:
    """A token as a quoted string literal, so spaces, newlines and tabs are visible."""
    return repr(decode([token]))


def format_step(step: StepTrace, decode: Callable[[list[int]], str], top: int) -> str:
    chosen = "?" if step.chosen is None else token_text(decode, step.chosen)
    probs = step.chosen_probs or [float("nan")]
    lines = [f"--- step {step.step + 1}: chose {chosen} (p {probs[-1]:.3f} after the processors, "
             f"{probs[0]:.3f} from the model) ---"]
    width = max(len(stage.name) for stage in step.stages)
    for index, stage in enumerate(step.stages):
        shown = [f"{token_text(decode, token)} {prob:.3f}"
                 for token, prob in zip(stage.token_ids[:top], stage.probs[:top]) if prob > 0]
        more = "  ..." if stage.kept > len(shown) else ""
        note = f"{stage.kept} tokens possible" if index == 0 else f"{stage.kept} kept"
        lines.append(f"  {stage.name:<{width}}  {'  '.join(shown)}{more}  ({note})")
    return "\n".join(lines)


def format_trace(trace: DecodingTrace, decode: Callable[[list[int]], str], top: int = 5) -> str:
    """Every step of `trace`, `top` candidates per stage."""
    return "\n".join(format_step(step, decode, top) for step in trace.steps)
