"""The core's code beside the paper's equations: after each equation a notebook shows the function that computes
it, so that the paper's line and the code's line are read together, as in the Annotated Transformer."""

import inspect
import textwrap

from IPython.display import Code


def show(*objects) -> Code:
    """The source of each of `objects` (functions, methods, classes) as highlighted Python, one after another:
    inspect.getsource, dedented (a method's too); a notebook renders the Code it returns, plain text shows the
    source as it is."""
    return Code("\n\n".join(textwrap.dedent(inspect.getsource(o)).rstrip() for o in objects), language="python")
