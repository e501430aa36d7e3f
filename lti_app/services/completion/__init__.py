"""Programme completion: the trainer's rule, each person's progress against it, and the durable outbox
that writes it into the LMS gradebook (AGS).

Modules: ``rules`` (the rule and its validation), ``evaluation`` (pure condition checks), ``metrics`` (the
mentoring facts the conditions read), ``tracker`` (re-evaluation on domain events and by the periodic
sweep), ``outbox`` (sync jobs: queue, supersede, claim, settle), ``overview`` (what trainers and participants
see, with authorisation), ``placements`` (deep linking and programmes bound to resource links).

Kept free of imports here: ``subscriber`` is imported by ``lti_app.services`` on every start, and must not
pull the domain in with it.
"""
