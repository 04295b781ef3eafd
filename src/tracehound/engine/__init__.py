"""The investigation engine. Pure: it imports no web framework, database, HTTP client or settings.

Entry points: :func:`tracehound.engine.investigate.investigate` and
:func:`tracehound.engine.followup.answer_follow_up`.
"""
