"""Writes that cross models, by concern. Commands and views call these; nothing else writes.

- ``imports``: the listing importer.
- ``editing``: saves from forms that may be stale (versions, merges, conflicts), autosaved
  scratch copies and who else has a form open.
- ``publishing``: publish, unpublish, schedule, pending versions and the review workflow.
- ``ordering``: positions in a category's listing and among sibling categories.
- ``roles``: the Editors and Contributors groups.
"""
