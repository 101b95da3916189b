"""The one place Inkwright's version is written; setup.cfg and the API envelope read it."""

__version__ = "0.1.0"

#: Version of the plugin contract in :mod:`app.toolkit`. A plugin may check it to refuse
#: a core it was not written for; it changes only when the contract changes. 1.1 added the
#: platform services (notify, feature_enabled, Schedule and Plugin.schedules, record_audit,
#: Plugin.event_types, verify_webhook_signature); 1.2 added review agents' runs (AgentSubjects and
#: Plugin.agent_subjects, start_agent_run, ReviewIssue.file/line), enum_column, usernames, and
#: a plugin's own system scope (SystemRepository, Plugin.system_scope);
#: nothing earlier changed.
TOOLKIT_VERSION = "1.2"
