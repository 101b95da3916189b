"""Asynchronous media generations (seed 004's GenerationJob): start one, poll it, pick it up.

A skill calls :meth:`StepContext.generate_media`. The first time, the request goes to the
provider, a GenerationJob row records it, and ``AwaitingGeneration`` ends the attempt: the
executor moves the step to ``waiting`` and no worker is held. A poll job,
``app.jobs.poll_generation(generation_job_id)``, asks the provider at the interval it gave
until the job completes, fails or times out; a completed job's bytes are stored as a
content-addressed artifact. Then the step is queued again, its skill runs again, and the
same ``generate_media`` call finds the job by its request hash: it returns the artifact's
id, or raises the failure, so the step's retry policy applies.

The database is the truth here too: each job records when its next poll is due
(``next_poll_at``) and which RQ job makes it (``poll_job_id``). A poll that is not the one
recorded does nothing, so duplicate polls are harmless, and the reconciler re-enqueues a
poll that Redis lost.

A generation is a model call, metered like one (issue 4): the run's budget is checked
before it is submitted, and each job leaves one usage-log row when it ends, as does a
submission that fails at once.

* :mod:`.awaiting` — ``AwaitingGeneration``, the signal that ends an attempt that waits
  (below both of the next two, which need it).
* :mod:`.requests` — the step's side: the request's hash, its job, submitting it, picking
  the result up (``StepGenerations``).
* :mod:`.polls` — when a job is polled next (by the app's clock), and putting the poll on
  the queue.
* :mod:`.poller` — the poll's side: ask the provider, finish the job into an artifact, time
  it out or give it up, wake its step (``GenerationPoller``).
* :mod:`.usage` — the usage-log row of a job that ended.
"""
