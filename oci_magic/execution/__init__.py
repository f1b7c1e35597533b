"""Running generated code: in the user's kernel (or a plain namespace), under a time limit, with
the user's names rolled back when a round fails, after the safety policy or the person said yes.
Knows nothing of models or prompts."""
