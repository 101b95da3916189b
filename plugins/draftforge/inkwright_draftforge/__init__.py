"""DraftForge for Inkwright (seed 003): writing projects whose manuscripts live in git, their
statistics, and review agents over them.

=====================  ====================================================================
``models``             projects and their stats rows (seed tables 2, 3)
``repositories``       queries over them, in the tenant's scope
``access``             ``project_access``: the one check of who may do what to a project
``projects``           the project service: create, change, archive, delete, restore
``manuscript*``        a bare git repository per project, written with dulwich
``repository_store``   where a project's repository lies on disk
``stats``/``stats_chart``  writing statistics from the changed files alone, and their chart
``checks``             the agents' deterministic checks (style, timeline, continuity, fact)
``plugin``             what the package adds to Inkwright
=====================  ====================================================================
"""
