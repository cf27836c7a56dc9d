"""Files in and out: reading and typing sheets, the bulk writer, preserving what users added, safe writes.

Nothing here knows about rules, RFM, custom fields or dashboards; the domain
modules above use it, never the other way round.  Inside, each module
imports only the ones listed before it:

* :mod:`~crmkit.io.archive` opens a workbook's zip safely (zip-bomb limits, linear XML scans).
* :mod:`~crmkit.io.typing` types a text frame by the schema (:class:`~crmkit.io.typing.Problem`
  for what does not convert).
* :mod:`~crmkit.io.reading` reads a sheet as text (fastexcel) and types it.
* :mod:`~crmkit.io.cells` says what crmkit writes into a cell (values, header texts).
* :mod:`~crmkit.io.bulk` writes the cells of big sheets in bulk.
* :mod:`~crmkit.io.safety` is the one write path for users' files (temp file, fsync, atomic replace, backups).
* :mod:`~crmkit.io.contents` tells what a workbook file holds, and refuses what an update would drop.
* :mod:`~crmkit.io.formulas` finds the user's formula cells and keeps their results through an update.
* :mod:`~crmkit.io.preserve` updates a workbook a person has saved, keeping their additions.
* :mod:`~crmkit.io.writer` writes styled workbooks (xlsxwriter), or has them updated in place.
* :mod:`~crmkit.io.journal` saves several files as one unit, under the workspace lock.
* :mod:`~crmkit.io.outputs` checks output paths and knows crmkit's own output files.
* :mod:`~crmkit.io.neutralise` defuses formula text in CSV exports.
* :mod:`~crmkit.io.cache` keeps a typed copy of each unchanged workbook.
* :mod:`~crmkit.io.sources` reads import sources (CSV, xls, xlsx, ods) of any encoding.
"""
