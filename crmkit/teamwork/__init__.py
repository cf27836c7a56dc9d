"""Team mode on files: ``crmkit split`` gives each rep a workspace of their own records,
``crmkit merge`` brings a rep's workspace back cell by cell against the split's base
(:mod:`crmkit.teamwork.manifest`)."""
