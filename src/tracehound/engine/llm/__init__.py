"""The optional language model: reading follow-up questions into intents and wording answers from evidence.

Everything here is a thin layer over the deterministic engine. The model sees only the question, the earlier
questions, the service names and the structured evidence; its output is validated (an intent that does not
exist, a service nobody knows, a number that is not in the evidence are refused) and any failure falls back to
the deterministic answer, which is always shown with its citations.
"""
