"""LTI 1.3 glue around pylti1p3: the database-backed tool configuration, launch-data storage (database or
Redis), the cookie and postMessage ways of keeping OIDC state, and the LTI role vocabulary.

No Flask views here (those live in ``lti_app.views.lti``) and no domain rules (``lti_app.services.launch``
maps a verified launch onto courses, people and enrolments).
"""
