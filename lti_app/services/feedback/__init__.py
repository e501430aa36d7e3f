"""360 feedback: templates, cycles, nominations, answering, reminders and reports.

The modules below are the public surface; the completion rules call ``after_cycle_completed``.
"""

from lti_app.services.feedback.cycles import after_cycle_completed

__all__ = ["after_cycle_completed"]
